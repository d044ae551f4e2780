"""oss:// filesystem throughput against the server's own single-stream limit, measured in the same run.

    python bench/fs_bench.py                 # 2 GiB up/down at 1, 4, 8, 16 threads; 2,000 small files
    python bench/fs_bench.py --quick         # 256 MiB and 300 files: a smoke test, not a result
    python bench/fs_bench.py --no-ossfs      # skip the stock-ossfs comparison (it needs its own venv)

The server (`python -m ossbox server`) runs on core 0, every client on core 1 (this process, curl, the
ossbox CLI and ossfs). The ceiling is curl on a V1 presigned URL (`-T file`, `-o /dev/null`), best of
`--reps`, exactly as `bench/oss_bench.py --only large` measures it. Stock ossfs 2025.5.0 pins oss2==2.18.4,
which conflicts with ossbox's oss2 pin, so it is installed into a throwaway venv of its own.
Only 127.0.0.1 is contacted; processes and temporary directories are removed at exit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import oss_bench as ob  # noqa: E402  (shared plumbing: server process, cleanup, curl, signing)

MiB, GiB = ob.MiB, ob.GiB
THREADS = (1, 4, 8, 16)
OSSFS_VERSION = "2025.5.0"


def ossbox_fs(server: ob.Server, **options: object):  # type: ignore[no-untyped-def]
    from ossbox.fs import OssFileSystem

    return OssFileSystem(
        endpoint=server.endpoint, key=ob.AK, secret=ob.SK, skip_instance_cache=True, **options
    )


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def timed_call(fn, *args) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def stream(fs, path: str, chunk: bytes, count: int) -> None:  # type: ignore[no-untyped-def]
    """open('wb') and write(): the path pandas, pyarrow and Dask take."""
    with fs.open(path, "wb") as f:
        for _ in range(count):
            f.write(chunk)


def section_large(
    server: ob.Server, work: Path, size: int, reps: int, part: str, res: ob.Results
) -> dict[str, float]:
    big = work / "big.bin"
    ob.make_big_file(big, size)
    label = f"{size // MiB} MiB" if size < GiB else f"{size // GiB} GiB"
    put_url = server.url(ob.v1_presign("PUT", "bench", "ceiling"))
    get_url = server.url(ob.v1_presign("GET", "bench", "ceiling"))
    puts, gets = [], []
    for _ in range(reps):
        puts.append(ob.curl_put(put_url, big))
        gets.append(ob.curl_get(get_url))
    ceiling_put, ceiling_get = max(puts), max(gets)
    res.add("ceiling", f"{label} PUT, curl presigned (best of {reps})", ceiling_put, "MB/s",
            note="all: " + ", ".join(f"{x:.0f}" for x in puts))  # fmt: skip
    res.add("ceiling", f"{label} GET, curl presigned (best of {reps})", ceiling_get, "MB/s",
            note="all: " + ", ".join(f"{x:.0f}" for x in gets))  # fmt: skip
    server.bucket("bench").delete_object("ceiling")
    part_bytes = ob_size(part)
    for t in (1, 8):
        rate = curl_parts(server, work, size, part_bytes, t)
        res.add("ceiling", f"{label} as {part} parts, {t} parallel curl UploadPart", rate, "MB/s",
                note=f"{100 * rate / ceiling_put:.0f}% of one curl PUT: the server's own rate")  # fmt: skip
    ratios: dict[str, float] = {}
    chunk = os.urandom(4 * MiB)
    for t in THREADS:
        fs = ossbox_fs(server, threads=t, read_threads=t, partition_size=part, read_block_size=part)
        down_path = work / "down.bin"
        up = size / timed_call(fs.put_file, str(big), "bench/fs/up") / 1e6
        wr = size / timed_call(stream, fs, "bench/fs/stream", chunk, size // len(chunk)) / 1e6
        down = size / timed_call(fs.get_file, "bench/fs/up", str(down_path)) / 1e6
        assert down_path.stat().st_size == size
        down_path.unlink()
        # curl writes to /dev/null; a real file on this VM's disk adds writeback. tmpfs separates the two.
        shm = tmpfs_target(size)
        down_shm = 0.0
        if shm is not None:
            down_shm = size / timed_call(fs.get_file, "bench/fs/up", str(shm)) / 1e6
            shm.unlink()
        fs.rm(["bench/fs/up", "bench/fs/stream"])
        res.add("oss://", f"{label} put_file, {t} threads, {part} parts", up, "MB/s",
                note=f"{100 * up / ceiling_put:.0f}% of curl PUT")  # fmt: skip
        res.add("oss://", f"{label} open('wb').write, {t} threads", wr, "MB/s",
                note=f"{100 * wr / ceiling_put:.0f}% of curl PUT")  # fmt: skip
        res.add("oss://", f"{label} get_file to disk, {t} threads, {part} ranges", down, "MB/s",
                note=f"{100 * down / ceiling_get:.0f}% of curl GET")  # fmt: skip
        if shm is not None:
            res.add("oss://", f"{label} get_file to tmpfs, {t} threads", down_shm, "MB/s",
                    note=f"{100 * down_shm / ceiling_get:.0f}% of curl GET")  # fmt: skip
            ratios[f"down_tmpfs{t}"] = down_shm / ceiling_get
        ratios[f"up{t}"] = up / ceiling_put
        ratios[f"down{t}"] = down / ceiling_get
    big.unlink()
    return ratios


def tmpfs_target(size: int) -> Path | None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.statvfs(shm).f_bavail * os.statvfs(shm).f_frsize < 2 * size:
        return None
    return shm / f"fsbench-{os.getpid()}.bin"


def ob_size(text: str) -> int:
    from ossbox.fs.config import parse_size

    return parse_size(text, "--part-size")


def curl_parts(server: ob.Server, work: Path, size: int, part_bytes: int, threads: int) -> float:
    """The server's multipart ceiling: presigned UploadPart requests sent by `threads` curls at once."""
    from concurrent.futures import ThreadPoolExecutor

    part_file = work / "part.bin"
    ob.make_big_file(part_file, part_bytes)
    b = server.bucket("bench", crc=False)
    upload_id = b.init_multipart_upload("ceiling-parts").upload_id
    urls = [
        server.url(
            ob.v1_presign(
                "PUT", "bench", "ceiling-parts", params={"uploadId": upload_id, "partNumber": str(i)}
            )
        )
        for i in range(1, size // part_bytes + 1)
    ]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda u: ob.curl_put(u, part_file), urls))
    elapsed = time.perf_counter() - t0
    b.abort_multipart_upload("ceiling-parts", upload_id)
    part_file.unlink()
    return len(urls) * part_bytes / elapsed / 1e6


def make_small_tree(root: Path, n: int) -> None:
    body = os.urandom(4096)
    for i in range(n):
        p = root / f"d{i % 20:02d}" / f"f{i:05d}.bin"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(body)


def ossbox_cli(server: ob.Server, *args: str) -> None:
    ob.run(
        [
            sys.executable,
            "-m",
            "ossbox",
            *args,
            "-e",
            server.endpoint,
            "-i",
            ob.AK,
            "-k",
            ob.SK,
            "--no-progress",
        ]
    )


def ossfs_python(work: Path) -> Path | None:
    venv = work / "ossfs-venv"
    try:
        ob.run([sys.executable, "-m", "venv", str(venv)])
        ob.run([str(venv / "bin" / "pip"), "install", "-q", f"ossfs=={OSSFS_VERSION}"], timeout=600)
    except RuntimeError as e:
        ob.log(f"could not install ossfs=={OSSFS_VERSION}: {e}")
        return None
    return venv / "bin" / "python"


OSSFS_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from ossfs import OSSFileSystem
    endpoint, ak, sk, direction, local, remote = sys.argv[1:7]
    fs = OSSFileSystem(endpoint=endpoint, key=ak, secret=sk)
    t0 = time.perf_counter()
    if direction == "up":
        fs.put(local, remote, recursive=True)
    else:
        fs.get(remote, local, recursive=True)
    print(time.perf_counter() - t0)
    """
)


def section_small(
    server: ob.Server, work: Path, n: int, with_ossfs: bool, res: ob.Results
) -> dict[str, float]:
    src = work / "small"
    make_small_tree(src, n)
    rates: dict[str, float] = {}

    def rate(name: str, seconds: float, note: str = "") -> None:
        rates[name] = n / seconds
        res.add("small files", name, n / seconds, "files/s", note=note)

    rate(
        "ossbox cp -r up (CLI process, -j 16)",
        timed(lambda: ossbox_cli(server, "cp", "-r", "-j", "16", str(src), "oss://bench/cli/")),
    )
    rate(
        "ossbox cp -r down (CLI process, -j 16)",
        timed(lambda: ossbox_cli(server, "cp", "-r", "-j", "16", "oss://bench/cli", str(work / "cli-down"))),
    )
    fs = ossbox_fs(server)
    rate(
        "ossbox.fs put(recursive=True) (8 threads)",
        timed(lambda: fs.put(str(src) + "/", "bench/fsput/", recursive=True)),
    )
    rate(
        "ossbox.fs get(recursive=True) (8 threads)",
        timed(lambda: fs.get("bench/fsput/", str(work / "fs-down") + "/", recursive=True)),
    )
    if with_ossfs:
        py = ossfs_python(work)
        if py is not None:
            script = work / "ossfs_run.py"
            script.write_text(OSSFS_SCRIPT)
            up = float(
                ob.run(
                    [
                        str(py),
                        str(script),
                        server.endpoint,
                        ob.AK,
                        ob.SK,
                        "up",
                        str(src) + "/",
                        "bench/ossfs/",
                    ]
                )
            )
            rate(f"stock ossfs {OSSFS_VERSION} put(recursive=True)", up)
            down = float(
                ob.run(
                    [
                        str(py),
                        str(script),
                        server.endpoint,
                        ob.AK,
                        ob.SK,
                        "down",
                        str(work / "ossfs-down") + "/",
                        "bench/ossfs/",
                    ]
                )
            )
            rate(f"stock ossfs {OSSFS_VERSION} get(recursive=True)", down)
    for prefix in ("cli/", "fsput/", "ossfs/"):
        fs.rm(f"bench/{prefix}".rstrip("/"), recursive=True) if fs.exists(
            f"bench/{prefix}".rstrip("/")
        ) else None
    return rates


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--no-ossfs", action="store_true", help="skip stock ossfs (it is pip-installed into a temp venv)"
    )
    ap.add_argument("--part-size", default="16MB", help="part and range size for the oss:// runs")
    ap.add_argument("--no-wait", action="store_true")
    args = ap.parse_args()
    ob.check_tools(False)
    signal.signal(signal.SIGTERM, ob._on_signal)
    os.sched_setaffinity(0, {int(ob.CLIENT_CORE)})
    if not args.no_wait:
        ob.wait_for_other_benchmarks()
    started = dt.datetime.now(dt.UTC)
    res = ob.Results()
    work = ob.CLEAN.mkdtemp("fsbench-")
    size = 256 * MiB if args.quick else 2 * GiB
    reps = 1 if args.quick else 3
    n_small = 300 if args.quick else 2000
    try:
        server = ob.Server(work / "data").start()
        ob.create_bucket(server, "bench")
        ob.log(f"large: {size // MiB} MiB at {THREADS} threads")
        ratios = section_large(server, work, size, reps, args.part_size, res)
        ob.log(f"small: {n_small} files of 4 KiB")
        rates = section_small(server, work, n_small, not args.no_ossfs, res)
    finally:
        ob.CLEAN.all()
    lines = [
        f"fs_bench {started:%Y-%m-%d %H:%M} UTC, python bench/fs_bench.py {' '.join(sys.argv[1:])}".rstrip(),
        "",
        "| section | measurement | value | unit | notes |",
        "|---|---|---:|---|---|",
    ]
    lines += [
        f"| {r['section']} | {r['name']} | {ob.fmt(float(r['value']))} | {r['unit']} | {r['note']} |"
        for r in res.rows
    ]  # type: ignore[arg-type]
    lines += ["", "ratios: " + json.dumps({k: round(v, 3) for k, v in {**ratios, **rates}.items()})]
    text = "\n".join(lines)
    print(text)
    ob.RESULTS.mkdir(parents=True, exist_ok=True)
    out = ob.RESULTS / f"fs_bench-{started:%Y%m%dT%H%M%SZ}.md"
    out.write_text(text + "\n")
    ob.log(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
