"""The runtime layer ships exactly what the tests ran against."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==")
            out[name.lower().replace("_", "-")] = version
    return out


def test_runtime_layer_pins_match_the_dev_environment():
    layer, runtime = pins(ROOT / "layers/runtime/requirements.txt"), pins(ROOT / "requirements/runtime.txt")
    assert runtime and all(layer.get(name) == v for name, v in runtime.items()), (layer, runtime)
    assert "botocore" not in layer and "boto3" not in layer  # provided by the Lambda runtime


def test_model_layer_lands_in_opt_model():
    makefile = (ROOT / "layers/model/Makefile").read_text()
    assert "build-ModelLayer:" in makefile and '$(ARTIFACTS_DIR)/model/' in makefile
