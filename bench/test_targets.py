"""bench/targets.py: a verdict only from a run that measured what the target is defined for.

    python3 -m unittest discover -s bench -p 'test_*.py'
"""

import unittest

import targets

STATIC = "x86_64-unknown-linux-musl"


def report(once_ms=13.4, rss_kb=5427, bare_ticks=0):
    return {
        "once_wall": {"rust": {"mean_ms": once_ms}},
        "idle": {"rust": {"rss_kb_end": rss_kb, "cpu_ticks": 4, "seconds": 300.0}},
        "idle_bare": {"rust": {"cpu_ticks": bare_ticks, "seconds": 60.0}},
    }


def verdicts(rows):
    return [row[3] for row in rows]


class Targets(unittest.TestCase):
    def test_a_quick_run_shows_its_figures_and_no_verdict(self):
        rows = targets.judge(report(rss_kb=19 * 1024), True, "dev", "host", 3, 3, 2)
        text = targets.table(rows)
        self.assertNotIn("met", " ".join(verdicts(rows)))
        self.assertIn("19.00 MiB", text)
        self.assertIn("under 6 MB (5.72 MiB)", text)
        self.assertTrue(all(v.startswith("quick figure") for v in verdicts(rows)), text)
        self.assertTrue(all(t["met"] is None for t in targets.as_json(rows).values()))

    def test_a_full_run_of_the_static_release_build_is_judged(self):
        rows = targets.judge(report(), False, "release", STATIC, 30, 300, 60)
        self.assertEqual(verdicts(rows), ["met", "met", "met"])
        rows = targets.judge(report(once_ms=25.0, rss_kb=6000, bare_ticks=1), False, "release",
                             STATIC, 50, 600, 60)
        self.assertEqual(verdicts(rows), ["NOT met", "NOT met", "NOT met"])
        self.assertEqual(targets.as_json(rows)["--once wall time on loopback, mean"]["met"],
                         False)

    def test_other_builds_are_not_judged(self):
        for profile, target in [("release", "host"), ("dev", STATIC)]:
            rows = targets.judge(report(), False, profile, target, 30, 300, 60)
            self.assertNotIn("met", " ".join(verdicts(rows)), (profile, target))

    def test_a_short_window_is_not_judged_and_the_rest_is(self):
        rows = targets.judge(report(), False, "release", STATIC, 30, 60, 60)
        self.assertEqual(verdicts(rows)[0], "met")
        self.assertIn("the target is for 300 or more", verdicts(rows)[1])
        self.assertEqual(verdicts(rows)[2], "met")


if __name__ == "__main__":
    unittest.main()
