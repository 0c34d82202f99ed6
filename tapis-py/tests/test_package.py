"""The installed distribution carries its licences and the metadata PyPI shows."""

from importlib import metadata


def test_the_wheel_carries_its_licence_texts():
    files = metadata.distribution("tapis-connect").files or []
    names = {path.name for path in files if "licenses" in path.parts}
    assert {"LICENSE-MIT", "LICENSE-APACHE"} <= names, sorted(str(path) for path in files)


def test_the_metadata_names_the_licence_summary_and_extra():
    info = metadata.metadata("tapis-connect")
    assert info["License-Expression"] == "MIT OR Apache-2.0"
    assert info["Summary"].startswith("Sign in to Tapis v3 from Python and Jupyter")
    assert "Framework :: Jupyter" in info.get_all("Classifier")
    assert "tapipy" in info.get_all("Provides-Extra")
    assert info["Requires-Python"] == ">=3.9"
