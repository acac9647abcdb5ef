"""GreenPool: running() and free() as jobs come and go, and spawn blocking on a full pool.

A GreenPool bounds how many greenthreads run at once (Nova: one pool of 1000 for
``utils.spawn``, 64 per RPC server, a pool for ``_sync_power_states``). ``running()``
counts jobs in flight, ``free()`` the slots left; ``spawn`` blocks its caller while the
pool is full. Run it with ``nova-sim demo 3``.
"""

from __future__ import annotations

from nova_sim import green


def main() -> None:
    print(__doc__.split("\n")[0])
    with green.virtual_time():
        pool = green.GreenPool(size=3)

        def show(text: str) -> None:
            print(f"  t={green.now():4.1f}s  running={pool.running()} free={pool.free()} "
                  f"waiting={pool.waiting()}  {text}")

        def job(name: str, seconds: float) -> str:
            green.sleep(seconds)
            show(f"{name} finished")
            return name

        show("GreenPool(size=3) created")
        for name, seconds in (("job-a", 1), ("job-b", 2), ("job-c", 3)):
            pool.spawn(job, name, seconds)
            show(f"spawned {name} ({seconds}s)")

        print("\n  The pool is full: the next spawn blocks the spawner until a slot frees.")
        pool.spawn(job, "job-d", 1)
        show("spawn(job-d) returned: job-a's slot went to it")
        pool.waitall()
        show("waitall() returned: every job is done")

        disks_gb = [40, 20, 80]
        sleeps = [gb / 10 for gb in disks_gb]
        print("\n  imap runs a function over inputs concurrently, results in order. Each call "
              "here sleeps\n  a tenth of its disk size in GB: "
              f"{', '.join(f'{s:g}' for s in sleeps[:-1])} and {sleeps[-1]:g} s, all at once, "
              f"so imap returns after the longest,\n  {max(sleeps):g} s after "
              f"t={green.now():.1f}s:")
        sizes = list(pool.imap(lambda gb: (green.sleep(gb / 10), gb * 1024)[1], disks_gb))
        show(f"disk sizes in MB: {sizes}")

        print("\n  spawn_n into a pool: the same slots, no GreenThread per job:")
        for _ in range(5):
            pool.spawn_n(green.sleep, 1)
        show("queued 5 spawn_n jobs (the spawner blocked twice for slots)")
        pool.waitall()
        show("all done")


if __name__ == "__main__":
    main()
