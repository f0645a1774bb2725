"""Settings resolve flag > environment > code > default, documented once in micro_core.options."""

import pytest

from micro_core.options import Options
from micro_core.plugins import Plugins


def declared(**kwargs) -> Options:
    options = Options(**kwargs)
    Plugins(autoload=False).add_options(options)
    return options


def test_defaults_are_the_embedded_backends():
    options = declared(environ={})
    assert (options["registry"], options["transport"], options["broker"], options["selector"]) == (
        "local",
        "http",
        "http",
        "random",
    )


def test_precedence_flag_then_environment_then_code():
    env = {"MICRO_REGISTRY": "consul", "MICRO_REGISTER_TTL": "7"}
    assert declared(code={"registry": "memory"}, environ={}).resolve("registry") == ("memory", "code")
    assert declared(code={"registry": "memory"}, environ=env).resolve("registry") == ("consul", "environment")
    options = declared(code={"registry": "memory"}, flags={"registry": "mdns"}, environ=env)
    assert options.resolve("registry") == ("mdns", "flag")


def test_environment_text_is_parsed_by_the_option_type():
    options = declared(environ={"MICRO_REGISTER_TTL": "7", "MICRO_CLIENT_RETRIES": "3"})
    assert options["register_ttl"] == 7.0 and options["client_retries"] == 3


def test_bad_environment_value_names_the_variable():
    options = declared(environ={"MICRO_CLIENT_RETRIES": "many"})
    with pytest.raises(ValueError, match="MICRO_CLIENT_RETRIES='many'"):
        options["client_retries"]


def test_each_option_has_a_flag_and_an_environment_variable():
    option = next(o for o in declared(environ={}) if o.name == "registry_address")
    assert (option.flag, option.env) == ("--registry-address", "MICRO_REGISTRY_ADDRESS")
