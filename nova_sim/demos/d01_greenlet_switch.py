"""greenlet switching: the classic 12 / 56 / 34 example, and why 78 never prints.

This is the example every introduction to eventlet starts from (greenlet's own docs, and
the 2015 article nova-sim grew from). Two greenlets hand control to each other
explicitly with ``switch()``: nothing runs "at the same time", and no scheduler decides
anything. Run it with ``nova-sim demo 1``.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import sys
import textwrap

from greenlet import greenlet

gr1: greenlet
gr2: greenlet


def test1() -> None:
    print(12)
    gr2.switch()  # jump into test2 (it starts from its beginning)
    print(34)
    # test1 returns here: gr1 is dead, and control goes to gr1's parent


def test2() -> None:
    print(56)
    gr1.switch()  # jump back into test1, right after its gr2.switch()
    print(78)  # only reached if someone ever switches to gr2 again


class _Tee(io.StringIO):
    """Records what the greenlets print and passes it on to the real stdout."""

    def __init__(self, out: io.TextIOBase):
        super().__init__()
        self.out = out

    def write(self, text: str) -> int:
        self.out.write(text)
        return super().write(text)


def main() -> None:
    global gr1, gr2
    print(__doc__.split("\n")[0])
    print()
    for function in (test1, test2):
        print(textwrap.indent(inspect.getsource(function), "    "))
    print("    gr1 = greenlet(test1); gr2 = greenlet(test2); gr1.switch()")
    print()
    gr1 = greenlet(test1)
    gr2 = greenlet(test2)
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        gr1.switch()
    trail = tee.getvalue().split()
    print()
    print("Printed:", ", ".join(trail))
    print(f"gr1.dead={gr1.dead}  gr2.dead={gr2.dead}")
    print("""
Why 78 never prints:
  1. main switches to gr1: test1 prints 12 and switches to gr2.
  2. gr2 starts test2: it prints 56 and switches back to gr1.
  3. gr1 resumes after its switch: it prints 34, and test1 returns. A greenlet whose
     function returns is dead, and control goes to its *parent*, the greenlet that
     created it: here the main greenlet, not gr2.
  4. Nothing ever switches to gr2 again. It stays suspended inside test2, just before
     print 78, until it is garbage collected (greenlet then raises GreenletExit in it).

Switching is explicit and cooperative: a greenlet runs until it switches away. eventlet
(and nova_sim.green) add a *hub*: a greenlet that decides whom to switch to next, so
that greenthreads switch implicitly whenever they would block (sleep, a queue, a
socket). That is the next demo.""")
    if "78" in trail:
        raise AssertionError("78 printed: greenlet semantics changed?")


if __name__ == "__main__":
    main()
