/* SapaLapor web chat (channels/web.py is the server side; channels/web_parse.py the frames).
 *
 * Accessibility rules this file keeps:
 * - The transcript is role="log": a new message is built completely and then appended, once;
 *   nothing already in the log is re-rendered, so a screen reader announces only what is new.
 * - Focus never moves when a message arrives; after a choice is pressed it goes back to the
 *   text box. Only the kiosk warning (a dialog) takes focus, and gives it back.
 * - Every message has a client id and stays in the outbox until the server says it recorded
 *   it ("ack"); every reply has an id, and the page tells the server the last one it has,
 *   so after a lost connection nothing is lost and nothing is shown twice.
 */
(function () {
  "use strict";

  var body = document.body;
  var kiosk = body.dataset.mode === "kiosk";
  var eventCode = body.dataset.event || null;
  var quietMs = (parseInt(body.dataset.quiet, 10) || 120) * 1000;
  var warningSeconds = parseInt(body.dataset.warning, 10) || 30;
  // A kiosk forgets everything when its tab closes; a personal device keeps its id.
  var keep = kiosk ? window.sessionStorage : window.localStorage;
  var session = window.sessionStorage;

  var log = document.getElementById("percakapan");
  var statusLine = document.getElementById("status");
  var form = document.getElementById("kirim");
  var input = document.getElementById("pesan");
  var errorLine = document.getElementById("galat");
  var holdButton = document.getElementById("tahan-bicara");
  var tapButton = document.getElementById("rekam");

  var TEXT = {
    me: "Anda", bot: "SapaLapor", heardPrefix: "Anda (suara)",
    empty: "Tulis pesan Anda dulu, lalu tekan Kirim.",
    offline: "Koneksi terputus. Kami coba sambung lagi. Pesan Anda tidak hilang.",
    online: "",
    waiting: "Menunggu jawaban...",
    recording: "Sedang merekam. Lepas tombol untuk mengirim.",
    recordingTap: "Sedang merekam. Tekan Berhenti dan kirim jika sudah selesai.",
    sendingVoice: "Mengirim suara Anda...",
    tooShort: "Suaranya terlalu singkat. Tahan tombol selama Anda bicara.",
    noMic: "Mikrofon tidak bisa dipakai. Silakan ketik pesan Anda.",
    listen: "Dengarkan", listenSlow: "Dengarkan pelan",
    voiceOn: "Jawaban bersuara dinyalakan.", voiceOff: "Jawaban bersuara dimatikan.",
    resetDone: "Percakapan sudah dibersihkan. Silakan mulai baru.",
    choicesLabel: "Pilihan"
  };

  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function load(store, key, fallback) {
    try { var v = store.getItem(key); return v === null ? fallback : JSON.parse(v); } catch (e) { return fallback; }
  }
  function save(store, key, value) { try { store.setItem(key, JSON.stringify(value)); } catch (e) { /* full */ } }

  var device = load(keep, "sapalapor.device", null);
  if (!device) { device = newId(); save(keep, "sapalapor.device", device); }
  var lastId = load(session, "sapalapor.last", 0);
  var outbox = load(session, "sapalapor.outbox", []);       // frames not yet recorded by the server
  var transcript = load(session, "sapalapor.transcript", []); // what the log shows, for a reload
  var choicesShown = null;

  // ------------------------------------------------------------------ settings (switches)
  var prefs = load(keep, "sapalapor.prefs", {large: false, contrast: false, simple: false, voice: false});
  function applyPrefs() {
    document.documentElement.classList.toggle("besar", !!prefs.large);
    document.documentElement.classList.toggle("kontras", !!prefs.contrast);
    document.getElementById("huruf-besar").setAttribute("aria-pressed", String(!!prefs.large));
    document.getElementById("kontras").setAttribute("aria-pressed", String(!!prefs.contrast));
    document.getElementById("sederhana").setAttribute("aria-pressed", String(!!prefs.simple));
    document.getElementById("suara").setAttribute("aria-pressed", String(!!prefs.voice));
  }
  function toggle(name, command) {
    prefs[name] = !prefs[name];
    save(keep, "sapalapor.prefs", prefs);
    applyPrefs();
    if (command) { queue({type: "message", id: newId(), text: command(prefs[name])}); }
  }
  document.getElementById("huruf-besar").addEventListener("click", function () { toggle("large"); });
  document.getElementById("kontras").addEventListener("click", function () { toggle("contrast"); });
  // The accessibility layer's own commands: the profile changes and the dialogue carries on.
  document.getElementById("sederhana").addEventListener("click", function () {
    toggle("simple", function (on) { return on ? "/sederhana" : "/biasa"; });
  });
  document.getElementById("suara").addEventListener("click", function () {
    toggle("voice", function (on) { return on ? "/suara" : "/teks"; });
    say(prefs.voice ? TEXT.voiceOn : TEXT.voiceOff);
  });
  document.getElementById("bantuan").addEventListener("click", function () { sendText("bantuan"); });
  document.getElementById("mulai-baru").addEventListener("click", function () { startOver(); });
  applyPrefs();

  function say(text) { statusLine.textContent = text; }

  // ------------------------------------------------------------------ the transcript
  function paragraphs(parent, text) {
    String(text || "").split(/\n{2,}/).forEach(function (part) {
      if (!part.trim()) { return; }
      var p = document.createElement("p");
      p.textContent = part;
      parent.appendChild(p);
    });
  }

  function render(entry, fresh) {
    var article = document.createElement("div");
    article.className = "msg " + (entry.who === "bot" ? "bot" : "me") + (fresh ? " new" : "");
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = (entry.who === "bot" ? TEXT.bot : entry.who === "heard" ? TEXT.heardPrefix : TEXT.me) + ":";
    article.appendChild(who);
    paragraphs(article, entry.text);
    if (entry.image) {
      var img = document.createElement("img");
      img.src = entry.image; img.alt = "Gambar dari SapaLapor";
      article.appendChild(img);
    }
    if (entry.choices && entry.choices.length) {
      var list = document.createElement("ol");
      list.className = "choices";
      list.setAttribute("aria-label", TEXT.choicesLabel);
      entry.choices.forEach(function (title, index) {
        var li = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = (index + 1) + ". " + title;
        button.addEventListener("click", function () { choose(index + 1, title, list); });
        li.appendChild(button);
        list.appendChild(li);
      });
      article.appendChild(list);
      if (choicesShown) { disableChoices(choicesShown); }
      choicesShown = list;
    }
    if (entry.voice) { article.appendChild(voiceControls(entry.voice, fresh)); }
    log.appendChild(article);  // one append of a finished message: announced once, complete
    if (fresh) { article.scrollIntoView({block: "nearest"}); }
  }

  function disableChoices(list) {
    Array.prototype.forEach.call(list.querySelectorAll("button"), function (b) { b.disabled = true; });
  }

  function remember(entry) {
    transcript.push(entry);
    // Voice is not kept for a reload (large); the text of every message is.
    save(session, "sapalapor.transcript", transcript.map(function (e) {
      return {who: e.who, text: e.text, choices: e.choices, image: e.image};
    }));
  }

  function show(entry) { render(entry, true); remember(entry); }

  function voiceControls(base64, fresh) {
    var bytes = Uint8Array.from(atob(base64), function (c) { return c.charCodeAt(0); });
    var url = URL.createObjectURL(new Blob([bytes], {type: "audio/ogg"}));
    var audio = new Audio(url);
    audio.preload = "auto";
    var box = document.createElement("div");
    box.className = "voice";
    [[TEXT.listen, 1.0], [TEXT.listenSlow, 0.75]].forEach(function (pair) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = pair[0];
      button.addEventListener("click", function () { play(audio, pair[1]); });
      box.appendChild(button);
    });
    box.audio = audio;
    // Autoplay only when the citizen chose voice replies themselves.
    if (fresh && prefs.voice) { play(audio, 1.0); }
    return box;
  }

  function play(audio, rate) {
    audio.pause();
    audio.currentTime = 0;
    audio.playbackRate = rate;
    audio.preservesPitch = true;
    var started = audio.play();
    if (started && started.catch) { started.catch(function () { /* blocked until the page is used */ }); }
  }

  // ------------------------------------------------------------------ sending
  function queue(frame) {
    outbox.push(frame);
    save(session, "sapalapor.outbox", outbox.filter(function (f) { return f.type !== "voice"; }));
    if (socket && socket.readyState === 1 && ready) { socket.send(JSON.stringify(frame)); }
  }

  function flush() {
    // After every (re)connection: whatever the server has not acknowledged goes again (it
    // records each client id once, so a frame it had already is only acknowledged).
    if (!socket || socket.readyState !== 1 || !ready) { return; }
    outbox.forEach(function (frame) { socket.send(JSON.stringify(frame)); });
  }

  function sendText(text) {
    show({who: "me", text: text});
    queue({type: "message", id: newId(), text: text});
    say(TEXT.waiting);
  }

  function choose(number, title, list) {
    disableChoices(list);
    show({who: "me", text: title});
    // The number: the accessibility layer maps it onto the choices it showed last.
    queue({type: "message", id: newId(), text: String(number)});
    say(TEXT.waiting);
    input.focus();
  }

  function showError(text) {
    errorLine.textContent = text;
    errorLine.hidden = !text;
    if (text) { say(text); }
    if (text) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { showError(TEXT.empty); input.focus(); return; }
    showError("");
    input.value = "";
    sendText(text);
    input.focus();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", {cancelable: true}));
    }
  });
  input.addEventListener("input", function () { if (!errorLine.hidden && input.value.trim()) { showError(""); } });

  // ------------------------------------------------------------------ the connection
  var socket = null;
  var ready = false;
  var retryDelay = 500;
  var connections = 0;  // how many times the server said "ready" (tests see a reconnection)

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + body.dataset.socket);
    socket = ws;
    ready = false;
    ws.addEventListener("open", function () {
      ws.send(JSON.stringify({type: "hello", device: device, after: lastId, event: eventCode}));
    });
    ws.addEventListener("message", function (message) {
      if (ws !== socket) { return; }
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      if (frame.type === "ready") {
        ready = true; retryDelay = 500; connections += 1;
        if (statusLine.textContent === TEXT.offline) { say(TEXT.online); }
        flush();
      } else if (frame.type === "ack") {
        outbox = outbox.filter(function (f) { return f.id !== frame.id; });
        save(session, "sapalapor.outbox", outbox.filter(function (f) { return f.type !== "voice"; }));
      } else if (frame.type === "item") {
        received(frame);
      }
    });
    ws.addEventListener("close", function () {
      if (ws !== socket) { return; }
      ready = false;
      say(TEXT.offline);
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 5000);
    });
  }

  var seenTimer = null;
  function received(frame) {
    if (frame.id <= lastId) { return; }  // had it already (a push raced the backlog)
    lastId = frame.id;
    save(session, "sapalapor.last", lastId);
    if (statusLine.textContent === TEXT.waiting || statusLine.textContent === TEXT.sendingVoice) { say(""); }
    show({who: frame.kind === "heard" ? "heard" : "bot", text: frame.text, choices: frame.choices,
          image: frame.image, voice: frame.voice});
    clearTimeout(seenTimer);
    seenTimer = setTimeout(function () {
      if (socket && socket.readyState === 1) { socket.send(JSON.stringify({type: "seen", upto: lastId})); }
    }, 300);
    quietTimer.restart();
  }

  // ------------------------------------------------------------------ voice
  var recorder = null, chunks = [], startedAt = 0, stopTimer = null, heldBy = null;
  var MAX_RECORDING_MS = 90000;

  function startRecording(by) {
    if (recorder) { return; }
    if (!navigator.mediaDevices || !window.MediaRecorder) { showError(TEXT.noMic); return; }
    heldBy = by;
    navigator.mediaDevices.getUserMedia({audio: true}).then(function (stream) {
      if (heldBy !== by) { stream.getTracks().forEach(function (t) { t.stop(); }); return; }  // released already
      var type = MediaRecorder.isTypeSupported("audio/webm;codecs=opus") ? "audio/webm;codecs=opus" : "";
      recorder = new MediaRecorder(stream, type ? {mimeType: type, audioBitsPerSecond: 32000} : {});
      chunks = [];
      recorder.addEventListener("dataavailable", function (e) { if (e.data && e.data.size) { chunks.push(e.data); } });
      recorder.addEventListener("stop", function () {
        stream.getTracks().forEach(function (t) { t.stop(); });  // the microphone is released every time
        var kept = chunks, mime = recorder.mimeType || "audio/webm", took = Date.now() - startedAt;
        recorder = null;
        if (took < 500 || !kept.length) { say(TEXT.tooShort); return; }
        sendVoice(new Blob(kept, {type: mime}), mime);
      });
      startedAt = Date.now();
      recorder.start();
      stopTimer = setTimeout(stopRecording, MAX_RECORDING_MS);
      say(by === "tap" ? TEXT.recordingTap : TEXT.recording);
      if (by === "tap") { tapButton.setAttribute("aria-pressed", "true"); tapButton.textContent = "Berhenti dan kirim"; }
      else { holdButton.classList.add("recording"); }
    }).catch(function () { heldBy = null; showError(TEXT.noMic); });
  }

  function stopRecording() {
    heldBy = null;
    clearTimeout(stopTimer);
    tapButton.setAttribute("aria-pressed", "false");
    tapButton.textContent = "Rekam suara";
    holdButton.classList.remove("recording");
    if (recorder && recorder.state !== "inactive") { recorder.stop(); }
  }

  function sendVoice(blob, mime) {
    var reader = new FileReader();
    reader.onload = function () {
      var base64 = String(reader.result).split(",")[1] || "";
      say(TEXT.sendingVoice);
      queue({type: "voice", id: newId(), audio: base64, mime: mime});
    };
    reader.readAsDataURL(blob);
  }

  // Hold to talk: pointer down to up, or Space held on the button.
  holdButton.addEventListener("pointerdown", function (e) { e.preventDefault(); startRecording("hold"); });
  ["pointerup", "pointercancel", "pointerleave"].forEach(function (name) {
    holdButton.addEventListener(name, function () { if (heldBy === "hold") { stopRecording(); } });
  });
  holdButton.addEventListener("keydown", function (e) {
    if (e.key === " " || e.key === "Enter") { e.preventDefault(); if (!e.repeat) { startRecording("hold"); } }
  });
  holdButton.addEventListener("keyup", function (e) {
    if (e.key === " " || e.key === "Enter") { e.preventDefault(); stopRecording(); }
  });
  holdButton.addEventListener("click", function (e) { e.preventDefault(); });
  // Tap to start, tap to stop: for anyone who cannot hold a button.
  tapButton.addEventListener("click", function () {
    if (heldBy === "tap" || (recorder && heldBy === null)) { stopRecording(); } else { startRecording("tap"); }
  });

  // ------------------------------------------------------------------ starting over (kiosk)
  function endOnServer(oldDevice, after) {
    // Its own short connection, so the old conversation is ended even while the page moves on.
    var id = newId();
    try {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var ws = new WebSocket(scheme + location.host + body.dataset.socket);
      var done = setTimeout(function () { ws.close(); }, 10000);
      ws.addEventListener("open", function () {
        ws.send(JSON.stringify({type: "hello", device: oldDevice, after: after, event: eventCode}));
        ws.send(JSON.stringify({type: "reset", id: id}));
      });
      ws.addEventListener("message", function (m) {
        try { if (JSON.parse(m.data).type === "ack") { clearTimeout(done); ws.close(); } } catch (e) { ws.close(); }
      });
    } catch (e) { /* the server forgets the old device's replies within a day anyway */ }
  }

  function startOver() {
    stopRecording();
    var oldDevice = device, oldLast = lastId;
    Array.prototype.forEach.call(log.querySelectorAll(".voice"), function (box) {
      if (box.audio) { box.audio.pause(); URL.revokeObjectURL(box.audio.src); }
    });
    log.replaceChildren();
    input.value = "";
    showError("");
    choicesShown = null;
    transcript = []; outbox = []; lastId = 0;
    try { window.sessionStorage.clear(); window.localStorage.clear(); } catch (e) { /* private mode */ }
    if (kiosk) { prefs = {large: false, contrast: false, simple: false, voice: false}; applyPrefs(); }
    else { save(keep, "sapalapor.prefs", prefs); }
    device = newId();
    save(keep, "sapalapor.device", device);
    endOnServer(oldDevice, oldLast);
    var old = socket; socket = null;
    if (old) { old.close(); }
    connect();
    warning.hide();
    say(TEXT.resetDone);
    input.focus();
  }

  // ------------------------------------------------------------------ kiosk quiet period
  var warning = (function () {
    var box = document.getElementById("peringatan");
    var left = document.getElementById("sisa-waktu");
    var stay = document.getElementById("masih-di-sini");
    var countdown = null, voice = null;
    if (!box) { return {show: function () {}, hide: function () {}, open: function () { return false; }}; }
    stay.addEventListener("click", function () { hide(); input.focus(); quietTimer.restart(); });
    var behind = [document.getElementById("utama"), document.querySelector(".settings")];
    function inert(on) { behind.forEach(function (el) { if (el) { el.inert = on; } }); }
    function show() {
      var remaining = warningSeconds;
      inert(true);  // a modal dialog: the page behind it cannot be reached until it is answered
      left.textContent = String(remaining);
      box.hidden = false;
      stay.focus();  // a dialog: the one time focus moves, and it comes back to the text box
      if (!voice) { voice = new Audio("/web/kiosk-warning.ogg"); }
      play(voice, 1.0);
      countdown = setInterval(function () {
        remaining -= 1;
        left.textContent = String(Math.max(remaining, 0));
        if (remaining <= 0) { startOver(); }
      }, 1000);
    }
    function hide() {
      clearInterval(countdown); countdown = null; box.hidden = true; inert(false);
      if (voice) { voice.pause(); }
    }
    return {show: show, hide: hide, open: function () { return !box.hidden; }};
  })();

  var quietTimer = (function () {
    var timer = null;
    function restart() {
      if (!kiosk) { return; }
      clearTimeout(timer);
      timer = setTimeout(function () {
        // Only a conversation that has something in it needs ending.
        if (log.children.length || input.value.trim()) { warning.show(); } else { restart(); }
      }, quietMs);
    }
    return {restart: restart};
  })();
  ["keydown", "pointerdown", "input"].forEach(function (name) {
    document.addEventListener(name, function () { if (!warning.open()) { quietTimer.restart(); } }, true);
  });

  // ------------------------------------------------------------------ start
  transcript.forEach(function (entry) { render(entry, false); });
  connect();
  quietTimer.restart();
  window.sapalapor = {device: function () { return device; }, lastId: function () { return lastId; },
                      connections: function () { return connections; }};
})();
