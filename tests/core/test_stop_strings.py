from workbench.core.stop_strings import StopStringFilter


def feed_all(stops, pieces):
    f = StopStringFilter(stops)
    out = [f.feed(p) for p in pieces]
    if not f.stopped:
        out.append(f.flush())
    return f, out


def test_no_stops_passes_everything_through():
    f, out = feed_all([], ["a", "b", "c"])
    assert out == ["a", "b", "c", ""] and f.text == "abc"


def test_stop_split_across_pieces_is_never_shown():
    f, out = feed_all(["END"], ["hello E", "N", "D and more"])
    assert "".join(out) == "hello " and f.stopped and f.text == "hello "
    assert out[0] == "hello "  # "E" held back until decided


def test_false_alarm_is_released():
    f, out = feed_all(["END"], ["a E", "x"])
    assert "".join(out) == "a Ex" and not f.stopped


def test_earliest_of_several_stops_wins():
    f, _ = feed_all(["\n\n", "User:"], ["Answer. User: hi\n\n"])
    assert f.text == "Answer. "
