"""Replies shaped for chat: what the commands build their answers with."""

from micro_bot.formatting import code, limit, one_line, table


def test_a_table_is_aligned_in_a_code_block_and_says_what_it_left_out():
    rows = [(f"service-{n}", "1.0") for n in range(25)]
    text = table(["service", "version"], rows, max_rows=3)
    assert text == (
        "```\nservice    version\nservice-0  1.0\nservice-1  1.0\nservice-2  1.0\n```\n(22 more not shown)"
    )


def test_json_goes_into_a_code_block():
    assert code({"message": "Hello Ada"}) == '```\n{\n  "message": "Hello Ada"\n}\n```'


def test_a_cut_closes_an_open_code_block_and_says_how_much_is_missing():
    cut = limit("```\n" + "x" * 100 + "\n```", 20)
    assert cut == "```\n" + "x" * 16 + "\n```\n… (truncated: 88 of 108 characters not shown)"
    assert limit("short", 20) == "short"


def test_an_error_is_one_line():
    assert one_line("a\n  b\tc") == "a b c"
    assert one_line("x" * 500, 10) == "x" * 9 + "…"
