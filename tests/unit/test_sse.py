"""The server-sent events decoder that both model APIs' streams go through."""

from __future__ import annotations

import pytest

from chat_api.hosts.sse import SSEDecoder, SSEError


def decode(*reads: bytes, max_bytes: int | None = None) -> list[tuple[bytes, bytes]]:
    decoder = SSEDecoder() if max_bytes is None else SSEDecoder(max_bytes)
    events = []
    for read in reads:
        events += decoder.feed(read)
    return events + decoder.close()


def test_one_event_with_a_name_and_data():
    assert decode(b"event: response.created\ndata: {}\n\n") == [(b"response.created", b"{}")]


def test_data_without_a_name_has_an_empty_name():
    assert decode(b'data: {"a":1}\n\n') == [(b"", b'{"a":1}')]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_the_standard_allows(ending):
    stream = ending.join([b"event: a", b"data: one", b"", b"data: two", b"", b""])

    assert decode(stream) == [(b"a", b"one"), (b"", b"two")]


def test_a_crlf_split_between_two_reads_is_one_line_ending():
    # Read as a bare \r then a \n, it would end the event early and split the next one.
    assert decode(b"event: a\r", b"\ndata: one\r", b"\n\r", b"\n") == [(b"a", b"one")]


def test_an_event_split_across_reads_at_every_byte():
    stream = b'event: response.output_text.delta\ndata: {"delta":"Hi"}\n\n'

    events = decode(*(stream[i : i + 1] for i in range(len(stream))))

    assert events == [(b"response.output_text.delta", b'{"delta":"Hi"}')]


def test_several_events_in_one_read_come_out_in_order():
    assert decode(b"data: 1\n\ndata: 2\n\ndata: 3\n\n") == [(b"", b"1"), (b"", b"2"), (b"", b"3")]


def test_a_last_event_without_its_trailing_newline_is_still_delivered():
    assert decode(b"data: 1\n\nevent: response.completed\ndata: {}") == [
        (b"", b"1"),
        (b"response.completed", b"{}"),
    ]


def test_a_last_event_without_its_blank_line_is_still_delivered():
    assert decode(b"data: [DONE]\n") == [(b"", b"[DONE]")]


def test_comments_are_skipped():
    assert decode(b": keep-alive\n\n:another\ndata: x\n\n") == [(b"", b"x")]


def test_data_without_a_space_after_the_colon():
    assert decode(b"data:{}\n\n") == [(b"", b"{}")]


def test_only_one_space_after_the_colon_is_dropped():
    assert decode(b"data:  two spaces\n\n") == [(b"", b" two spaces")]


def test_multi_line_data_is_joined_with_newlines():
    assert decode(b'data: {\ndata: "a": 1\ndata: }\n\n') == [(b"", b'{\n"a": 1\n}')]


def test_an_event_with_no_data_is_not_dispatched():
    assert decode(b"event: ping\n\ndata: x\n\n") == [(b"", b"x")]


def test_id_and_retry_fields_are_ignored():
    assert decode(b"id: 7\nretry: 100\ndata: x\n\n") == [(b"", b"x")]


def test_an_over_long_line_is_refused_while_it_arrives():
    decoder = SSEDecoder(max_bytes=64)
    decoder.feed(b"data: " + b"x" * 40)

    with pytest.raises(SSEError):
        decoder.feed(b"x" * 40)  # still no newline: the buffer would pass the bound


def test_an_over_long_line_arriving_in_one_read_is_refused():
    with pytest.raises(SSEError):
        decode(b"data: " + b"x" * 100 + b"\n\n", max_bytes=64)


def test_an_over_long_event_of_many_short_lines_is_refused():
    with pytest.raises(SSEError):
        decode(b"data: xxxxxxxx\n" * 20, max_bytes=64)


def test_a_long_line_within_the_bound_arriving_in_many_reads_is_whole():
    reads = [b"data: "] + [b"y" * 100] * 50 + [b"\n\n"]

    assert decode(*reads, max_bytes=10_000) == [(b"", b"y" * 5000)]


def test_the_bound_holds_across_events():
    decoder = SSEDecoder(max_bytes=64)
    for _ in range(100):  # many small events, far more than the bound in total
        assert decoder.feed(b"data: " + b"z" * 40 + b"\n\n") == [(b"", b"z" * 40)]
