// The register slots of a row-in-registers kernel: SLOT (a file path) pasted once per slot
// I = 0 .. VPT−1 (VPT ∈ {1, 2, 4, 8}). Include with (SLOT=dir/file.wgsl).
#include "SLOT" (I=0)
#if VPT >= 2
#include "SLOT" (I=1)
#endif
#if VPT >= 4
#include "SLOT" (I=2)
#include "SLOT" (I=3)
#endif
#if VPT >= 8
#include "SLOT" (I=4)
#include "SLOT" (I=5)
#include "SLOT" (I=6)
#include "SLOT" (I=7)
#endif
