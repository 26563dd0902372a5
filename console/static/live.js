// Live messages on the handover page: fetch what is new every 3 seconds and append it to the
// log (role="log" announces each new message once, politely). Without JavaScript the page
// still works: "Muat ulang percakapan" and the forms do everything.
(function () {
  "use strict";
  var log = document.getElementById("pesan");
  if (!log) { return; }
  var handover = log.getAttribute("data-handover");
  var last = parseInt(log.getAttribute("data-last"), 10) || 0;
  var state = null;

  function item(message) {
    var li = document.createElement("li");
    var notice = message.kind === "taken" || message.kind === "returned";
    li.className = (message.direction === "in" ? "from-warga" : "from-petugas") + (notice ? " notice" : "");
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = (notice ? "Catatan" : (message.direction === "in" ? "Warga" : message.author)) + " (" + message.at + "):";
    li.appendChild(who);
    li.appendChild(document.createTextNode(" " + message.text));
    if (message.audio) {
      var audio = document.createElement("audio");
      audio.controls = true;
      audio.src = "/petugas/" + handover + "/suara/" + message.id;
      audio.setAttribute("aria-label", "Pesan suara warga");
      li.appendChild(audio);
    }
    return li;
  }

  function poll() {
    fetch("/petugas/" + handover + "/pesan?setelah=" + last, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        data.messages.forEach(function (message) {
          if (message.id > last) { log.appendChild(item(message)); last = message.id; }
        });
        if (state !== null && data.state !== state) {
          var status = document.getElementById("keadaan");
          if (status) { status.textContent = "Keadaan berubah. Muat ulang halaman untuk tombol yang sesuai."; }
        }
        state = data.state;
      })
      .catch(function () { /* the next round tries again */ })
      .then(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 3000);
}());
