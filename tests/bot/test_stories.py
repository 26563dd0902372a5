import json
import subprocess

import yaml

from bot.rasa_project import ROOT, _rasa_env, rasa_executable, tracker_store_config

TEST_STORIES = ROOT / "dialogs" / "test_stories.yml"


def test_every_test_story_passes(trained_model, rasa_servers, tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        yaml.safe_dump({
            "action_endpoint": {"url": rasa_servers["action_url"]},
            "tracker_store": tracker_store_config(f"sqlite:///{tmp_path / 'tracker.db'}"),
        }),
        encoding="utf-8",
    )
    out = tmp_path / "results"
    completed = subprocess.run(
        [
            rasa_executable(), "test", "core",
            "--model", str(trained_model),
            "--stories", str(TEST_STORIES),
            "--endpoints", str(endpoints),
            "--out", str(out),
        ],
        cwd=ROOT, env=_rasa_env(rasa_servers["env"]), capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    failed = yaml.safe_load((out / "failed_test_stories.yml").read_text(encoding="utf-8")) or {}
    assert not failed.get("stories"), (out / "failed_test_stories.yml").read_text(encoding="utf-8")[:4000]
    report = json.loads((out / "story_report.json").read_text(encoding="utf-8"))
    accuracy = report["conversation_accuracy"]
    print(f"\ntest stories: {accuracy['correct']}/{accuracy['total']} correct")
    assert accuracy["total"] == len(yaml.safe_load(TEST_STORIES.read_text(encoding="utf-8"))["stories"])
    assert accuracy["correct"] == accuracy["total"]
