"""Bank conflicts of flash attention's per-lane S reads and P writes (fa_sg_rot.wgsl).

A subgroup of 32 lanes; lane l owns half `h = l % 2` of row `r = l // 2` of a 16 x BK stage:
S in f32 words (row stride BK words), P in f16 halves (row stride BK halves). Each of the
lane's BK/2 steps is one access of all 32 lanes; its cost is the most distinct 4-byte words
that fall in one of the 32 banks. Prints the worst step for the plain order and for the
rotation the kernels use (column (c + l*HB/32) % HB of the half row).

    python3 scripts/probes/fa_stage_banks.py
"""


def ways(words):
    banks = {}
    for w in words:
        banks.setdefault(w % 32, set()).add(w)
    return max(len(v) for v in banks.values())


for bk in (16, 32, 64):
    hb = bk // 2
    for name, rot in (("plain", lambda l: 0), ("rotated", lambda l: (l * hb) // 32)):
        col = lambda l, c: (l % 2) * hb + (c + rot(l)) % hb
        s_read = max(ways([(l // 2) * bk + col(l, c) for l in range(32)]) for c in range(hb))
        p_write = max(ways([((l // 2) * bk + col(l, c)) // 2 for l in range(32)]) for c in range(hb))
        print(f"BK {bk:2d} {name:8s} S read {s_read:2d}-way, P write {p_write:2d}-way")
