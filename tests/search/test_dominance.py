from optnas.search.dominance import Point, dominated_at_epoch, dominates


def test_dominance_needs_all_at_least_as_good_and_one_better():
    a = Point(0.9, {"params": 100.0})
    assert dominates(a, Point(0.8, {"params": 100.0}), "maximize", ["params"])
    assert dominates(a, Point(0.9, {"params": 200.0}), "maximize", ["params"])
    assert not dominates(a, Point(0.9, {"params": 100.0}), "maximize", ["params"])  # equal
    assert not dominates(a, Point(0.95, {"params": 200.0}), "maximize", ["params"])  # trade-off


def test_minimized_metric():
    assert dominates(Point(0.1, {}), Point(0.2, {}), "minimize", [])
    assert not dominates(Point(0.3, {}), Point(0.2, {}), "minimize", [])


def test_first_dominating_point():
    cur = Point(0.5, {"params": 50.0, "flops": 10.0})
    pts = [Point(0.9, {"params": 60.0, "flops": 5.0}), Point(0.6, {"params": 40.0, "flops": 10.0})]
    assert dominated_at_epoch(cur, pts, "maximize", ["params", "flops"]) == pts[1]
    assert dominated_at_epoch(cur, pts[:1], "maximize", ["params", "flops"]) is None
