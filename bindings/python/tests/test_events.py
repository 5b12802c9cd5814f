"""Box.events: the event ring, with the one line the tools print."""
import os
import unittest

from helpers import BoxCase
from fusebox import CircuitBreaker


class Events(BoxCase):
    def test_operator_trip_reads_as_the_tools_print_it(self):
        cb = CircuitBreaker(name="db", box=self.box)
        cb.open(reason="failover")
        evs = self.box.events()
        trip = [e for e in evs if e.get("cause") == "trip"]
        self.assertEqual(len(trip), 1)
        e = trip[0]
        self.assertEqual((e["record"], e["name"], e["from"], e["to"]),
                         ("breaker", "db", "closed", "forced_open"))
        self.assertEqual((e["uid"], e["pid"], e["reason"]), (os.geteuid(), os.getpid(), "failover"))
        self.assertRegex(e["line"], r"^\d+\.\ds ago  breaker db  closed -> forced-open  "
                                    r"tripped: failover  \(uid %d pid %d\)$"
                         % (os.geteuid(), os.getpid()))

    def test_since_and_limit_page_through_the_ring(self):
        cb = CircuitBreaker(name="db", box=self.box)
        for _ in range(3):
            cb.open(reason="t")
            cb.close(reason="r")
        first = self.box.events(limit=2)
        self.assertEqual(len(first), 2)
        rest = self.box.events(since=first[-1]["seq"] + 1)
        seqs = [e["seq"] for e in first + rest]
        self.assertEqual(seqs, sorted(set(seqs)))
        self.assertGreaterEqual(len(seqs), 6)
        self.assertEqual(self.box.events(since=seqs[-1] + 1), [])

    def test_drain_is_a_box_event_with_its_reason(self):
        start = len(self.box.events())
        self.box.drain(reason="deploy 42")
        self.box.drain(reason="again")          # no change: no event
        self.box.drain(False)
        evs = self.box.events()[start:]
        self.assertEqual([(e["record"], e["cause"], e["reason"]) for e in evs],
                         [("box", "drain_on", "deploy 42"), ("box", "drain_off", "")])
        self.assertEqual(evs[0]["name"], self.box_name)
        self.assertIn("drain began: deploy 42", evs[0]["line"])

    def test_bad_limit_is_refused(self):
        with self.assertRaises(ValueError):
            self.box.events(limit=0)


if __name__ == "__main__":
    unittest.main()
