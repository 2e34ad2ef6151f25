"""The features cache's code digest follows the code, not its comments, docstrings or layout."""
from pathlib import Path

from model_build.features_cache import _code_version
from model_build.source_fingerprint import code_digest
from model_build.synthetic import generator_version

CODE = '''"""Module docstring."""
SCALE = 2  # a comment


def f(x):
    """What f does."""
    return x * SCALE
'''


def _digest(tmp_path: Path, text: str, name: str = "m.py") -> str:
    p = tmp_path / name
    p.write_text(text)
    return code_digest([(name, p)])


def test_comments_docstrings_and_layout_do_not_change_the_digest(tmp_path):
    base = _digest(tmp_path, CODE)
    edited = (CODE.replace("Module docstring.", "Another module docstring.")
              .replace("# a comment", "# another comment, longer")
              .replace("What f does.", "What f does, said differently.")
              .replace("return x * SCALE", "return x*SCALE"))
    assert _digest(tmp_path, edited) == base
    undocumented = CODE.replace('    """What f does."""\n', "")
    assert _digest(tmp_path, undocumented) == base


def test_code_changes_and_file_names_change_the_digest(tmp_path):
    base = _digest(tmp_path, CODE)
    assert _digest(tmp_path, CODE.replace("SCALE = 2", "SCALE = 3")) != base
    assert _digest(tmp_path, CODE.replace("x * SCALE", "SCALE * x")) != base
    assert _digest(tmp_path, CODE, name="other.py") != base


def test_a_function_whose_body_is_only_a_docstring_still_parses(tmp_path):
    assert _digest(tmp_path, 'def g():\n    """Only a docstring."""\n') == _digest(tmp_path, "def g():\n    pass\n")


def test_the_cache_keys_digest_the_shipped_sources():
    assert len(_code_version()) == 16 and len(generator_version()) == 16
