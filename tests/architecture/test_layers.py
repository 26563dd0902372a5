from __future__ import annotations

from tests.architecture.imports import cycles, import_graph, imports_of, our_modules

# Top first: a module may import its own layer and any layer below it, never one above
# (docs/architecture.md, "Layers"). Data flows channel -> accessibility -> Rasa -> actions ->
# storage, replies come back up the same way as return values. The longest prefix decides.
LAYERS = (
    ("entry points", ("bot.__main__", "bot.cli", "bot.cli_args", "bot.commands", "bot.rasa_server",
                      "bot.action_server", "bot.speech_server", "bot.rasa_project", "bot.cluster", "channels.gateway", "console")),
    ("channels", ("channels",)),
    ("accessibility", ("accessibility",)),
    ("rasa", ("bot",)),
    ("actions", ("bot.actions", "bot.answers", "bot.dates")),
    ("storage", ("storage",)),
    ("shared helpers", ("shared",)),
)
# The configuration loader: read by entry points, which hand typed values down.
LOADER = "bot.settings"
# Lower modules that still read the loader themselves, and why; this list only shrinks (the test
# fails when an entry is no longer needed).
KNOWN_LOADER_READERS = {}
# Arrows that still run upwards, by (importer, imported); empty is the goal.
KNOWN_UPWARD = set()
# Import cycles not yet broken; empty is the goal.
KNOWN_CYCLES = []


def layer_of(module: str) -> int:
    best = None
    for index, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    assert best is not None, f"{module} belongs to no layer: add it to LAYERS"
    return best[0]


def arrows():
    modules = our_modules()
    for name, path in modules.items():
        for target, line in imports_of(name, path, modules):
            yield name, target, f"{path.relative_to(path.parents[len(name.split('.')) - 1])}:{line}"


def test_no_module_imports_a_higher_layer():
    upward = sorted({(name, target, where) for name, target, where in arrows()
                     if target != LOADER and layer_of(target) < layer_of(name)
                     and (name, target) not in KNOWN_UPWARD})
    assert upward == [], "imports of a higher layer:\n" + "\n".join(
        f"{where}: {name} ({LAYERS[layer_of(name)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for name, target, where in upward)


def test_only_entry_points_read_the_configuration_loader():
    readers = {name for name, target, _ in arrows() if target == LOADER and layer_of(name) > 0 and name != LOADER}
    assert sorted(readers - set(KNOWN_LOADER_READERS)) == []
    assert sorted(set(KNOWN_LOADER_READERS) - readers) == [], "no longer reads the loader: drop it from the list"


def test_the_known_upward_arrows_still_exist():
    still = {(name, target) for name, target, _ in arrows()}
    assert sorted(KNOWN_UPWARD - still) == []


def test_no_import_cycles_between_our_modules():
    found = cycles(import_graph())
    assert [cycle for cycle in found if cycle not in KNOWN_CYCLES] == []
    assert [cycle for cycle in KNOWN_CYCLES if cycle not in found] == [], "a known cycle is gone: drop it"


def test_the_layer_check_sees_an_upward_import():
    assert layer_of("storage.lifecycle") > layer_of("accessibility.pipeline") > layer_of("channels.telegram")
    assert layer_of("bot.actions.rating") > layer_of("bot.tracker_store")
    assert layer_of("channels.gateway") == 0 and layer_of("bot.commands.report_status") == 0
