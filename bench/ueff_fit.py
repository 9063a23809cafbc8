"""Fits the IME effective wind U_eff = a*U10 + b on the plume masks the scan itself
produces (issue 12, part 4), per ground sample distance, on calibration seeds; grades the
rates on other seeds.

For each seed: a simulated AVIRIS-NG-like scene (`--sensor`, default aviris-ng) with
sources from a JSON made here (one wind per scene, speed uniform 1-7 m/s, random
direction, rates log-uniform in --rates, sources on a jittered grid), scanned with its
true wind and `--limit-runs 0`. Each source is matched to the nearest site within 5 px;
the site's plume gives IME and area, so the required U_eff = Q_true * L / IME.

    python3 bench/ueff_fit.py BINARY --gsd 3 --calibration 101-106 --test 201-206 \
        [--sensor aviris-ng] [--size SAMPLES] [--lines LINES]

Measured (BENCHMARKS.md, "Emission rates and column length"): the fit depends on how many
lines a detector column has, because a plume's own pixels enter its column's statistics
and pull its enhancement down. So fit on flight lines as long as the ones you scan.

Prints the fit on the calibration seeds, then, on the test seeds, the rates with the
current model (as scanned) and with the refitted one: the parity slope (least squares
through the origin of Q_est on Q_true), median |dQ|/Q, and the coverage of the 68 %
interval (p16-p84), plus the cross-sectional flux's slope.
"""
import argparse, json, math, os, random, shutil, statistics, subprocess, sys, tempfile


def seeds(spec):
    lo, hi = spec.split("-")
    return list(range(int(lo), int(hi) + 1))


def run_seed(binary, seed, args, work):
    rng = random.Random(seed)
    n = args.size
    lines = args.lines or n
    speed = rng.uniform(1.0, 7.0)
    direction = rng.uniform(0.0, 360.0)
    k = 3  # 3 x 3 grid of sources
    srcs = []
    for i in range(k):
        for j in range(k):
            row = (i + 0.5) * lines / k + rng.uniform(-0.1, 0.1) * lines / k
            col = (j + 0.5) * n / k + rng.uniform(-0.1, 0.1) * n / k
            lo, hi = args.rates
            q = math.exp(rng.uniform(math.log(lo), math.log(hi)))
            srcs.append({"row": row, "col": col, "rate_kg_h": q, "wind_speed_m_s": speed, "wind_dir_deg": direction})
    sj = os.path.join(work, f"src{seed}.json")
    json.dump(srcs, open(sj, "w"))
    scene = os.path.join(work, f"scene{seed}")
    out = os.path.join(work, f"scan{seed}")
    subprocess.run([binary, "-q", "simulate", "scene", "--sensor", args.sensor, "--lines", str(lines), "--samples", str(n),
                    "--gsd", str(args.gsd), "--seed", str(seed), "--sources", sj, "-o", scene], check=True)
    subprocess.run([binary, "-q", "scan", os.path.join(scene, "radiance.hdr"), "--wind", f"{speed},{direction}",
                    "--limit-runs", "0", "-o", out], check=True)
    truth = json.load(open(os.path.join(scene, "truth_sources.json")))
    result = json.load(open(os.path.join(out, "scan.json")))
    plumes = {}
    for p in result["passes"]:
        for pl in p["plumes"]:
            if pl.get("reported_as_site") and pl.get("emission"):
                plumes[(p["name"], pl["plume"]["id"])] = pl["emission"]
    rows = []
    for s in truth["sources"]:
        best = None
        for site in result["sites"]:
            d = math.hypot(site["x"] - s["easting_m"], site["y"] - s["northing_m"]) / args.gsd
            if d <= 5 and (best is None or d < best[0]):
                best = (d, site)
        if best is None:
            continue
        site = best[1]
        em = [plumes.get((p["pass"], p["plume_id"])) for p in site["plumes"]]
        em = [e for e in em if e]
        if not em:
            continue
        e = em[0]
        rows.append({"seed": seed, "u10": speed, "q": s["rate_kg_h"], "q_est": site["rate_kg_h"],
                     "p16": e["rate_p16_p84_kg_h"][0], "p84": e["rate_p16_p84_kg_h"][1],
                     "ime": e["ime_kg"], "area": e["area_m2"], "u_eff_used": e["u_eff_m_s"],
                     "q_csf": e.get("rate_csf_kg_h")})
    shutil.rmtree(scene)
    shutil.rmtree(out)
    return rows, len(truth["sources"])


def fit(rows):
    pts = [(r["u10"], r["q"] / 3600.0 * math.sqrt(r["area"]) / r["ime"]) for r in rows if r["ime"] > 0]
    mx = statistics.fmean(p[0] for p in pts)
    my = statistics.fmean(p[1] for p in pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    a = sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx
    b = my - a * mx
    rms = math.sqrt(statistics.fmean(((p[1] - (a * p[0] + b)) / (a * p[0] + b)) ** 2 for p in pts))
    return a, b, rms, len(pts)


def grade(rows, label, scale=lambda r: 1.0):
    qs = [(r["q"], r["q_est"] * scale(r), r["p16"] * scale(r), r["p84"] * scale(r)) for r in rows]
    slope = sum(t * e for t, e, _, _ in qs) / sum(t * t for t, _, _, _ in qs)
    med = statistics.median(abs(e - t) / t for t, e, _, _ in qs)
    cover = sum(1 for t, _, lo, hi in qs if lo <= t <= hi) / len(qs)
    logratio = statistics.median(math.log(e / t) for t, e, _, _ in qs)
    print(f"  {label}: n={len(qs)} parity slope {slope:.3f}, median |dQ|/Q {med:.3f}, "
          f"median Q_est/Q {math.exp(logratio):.3f}, 68% interval covers {cover:.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--gsd", type=float, default=3.0)
    ap.add_argument("--sensor", default="aviris-ng")
    ap.add_argument("--size", type=int, default=450, help="samples (and lines unless --lines)")
    ap.add_argument("--lines", type=int, default=0, help="down-track lines (default: --size)")
    ap.add_argument("--rates", type=lambda s: tuple(map(float, s.split(","))), default=(60.0, 1500.0))
    ap.add_argument("--calibration", default="101-106")
    ap.add_argument("--test", default="201-206")
    args = ap.parse_args()
    work = tempfile.mkdtemp(dir=os.environ.get("TMPDIR", "/work"))
    try:
        cal, n_cal = [], 0
        for s in seeds(args.calibration):
            r, n = run_seed(args.binary, s, args, work)
            cal += r
            n_cal += n
        a, b, rms, n = fit(cal)
        print(f"GSD {args.gsd} m, {args.sensor}: calibration seeds {args.calibration}: {len(cal)} of {n_cal} sources found")
        print(f"  fitted on scan masks: U_eff = {a:.3f} * U10 + {b:+.3f} m/s (relative RMS scatter {rms:.2f}, {n} plumes)")
        grade(cal, "calibration seeds, current model")
        test, n_test = [], 0
        for s in seeds(args.test):
            r, n = run_seed(args.binary, s, args, work)
            test += r
            n_test += n
        print(f"  test seeds {args.test}: {len(test)} of {n_test} sources found")
        grade(test, "test seeds, current model (as scanned)")
        refit = lambda r: max(a * r["u10"] + b, 0.01) / r["u_eff_used"]
        grade(test, "test seeds, refitted model", refit)
        csf = [r for r in test if r["q_csf"]]
        if csf:
            slope = sum(r["q"] * r["q_csf"] for r in csf) / sum(r["q"] ** 2 for r in csf)
            med = statistics.median(abs(r["q_csf"] - r["q"]) / r["q"] for r in csf)
            print(f"  test seeds, cross-sectional flux: n={len(csf)} parity slope {slope:.3f}, median |dQ|/Q {med:.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
