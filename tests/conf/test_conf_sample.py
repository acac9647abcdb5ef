"""The committed etc/nova-sim/nova-sim.conf.sample is what oslo-config-generator makes now.

When this fails, regenerate the sample with `make sample-config` (or
`.venv/bin/oslo-config-generator --config-file etc/nova-sim/nova-sim-config-generator.conf`)
and commit it.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
GENERATOR_CONF = ROOT / "etc" / "nova-sim" / "nova-sim-config-generator.conf"
SAMPLE = ROOT / "etc" / "nova-sim" / "nova-sim.conf.sample"


def generate(tmp_path, env=None) -> str:
    output = tmp_path / "nova-sim.conf.sample"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "oslo_config.generator",
            "--config-file",
            str(GENERATOR_CONF),
            "--output-file",
            str(output),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return output.read_text()


def test_sample_is_current(tmp_path):
    assert generate(tmp_path) == SAMPLE.read_text(), (
        "etc/nova-sim/nova-sim.conf.sample is stale: run `make sample-config` and commit it"
    )


def test_sample_does_not_depend_on_the_machine(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path / "home"), XDG_STATE_HOME=str(tmp_path / "xdg"))
    text = generate(tmp_path, env=env)
    assert text == SAMPLE.read_text()
    assert str(tmp_path) not in text
    assert os.path.expanduser("~") not in SAMPLE.read_text()


def test_sample_parses_as_a_config_file(tmp_path):
    # Every line is a comment or a section: the sample is a valid (empty) config file.
    from nova_sim.conf import new_conf, parse_args

    conf = parse_args(["--config-file", str(SAMPLE)], new_conf(), default_config_files=[])
    assert conf.osapi_compute_listen_port == 8774
