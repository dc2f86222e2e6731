from zcnas.pipeline.timings import merge_timings, split_timings


def test_seconds_leave_the_metrics_and_come_back_for_display():
    report = {"cifar10": {"snip": {"spearman_test": 0.6, "seconds_per_arch": 1.5},
                          "vote": {"pairwise_test": 0.8}},
              "econas": {"spearman_test": 0.1, "seconds_per_arch": 40.0, "images_per_second": 900.0}}
    original = {"cifar10": {"snip": dict(report["cifar10"]["snip"]), "vote": dict(report["cifar10"]["vote"])},
                "econas": dict(report["econas"])}
    timings = split_timings(report)
    assert timings == {"cifar10": {"snip": {"seconds_per_arch": 1.5}},
                       "econas": {"seconds_per_arch": 40.0, "images_per_second": 900.0}}
    assert report == {"cifar10": {"snip": {"spearman_test": 0.6}, "vote": {"pairwise_test": 0.8}},
                      "econas": {"spearman_test": 0.1}}
    assert merge_timings(report, timings) == original
    assert merge_timings(report, {}) == report
