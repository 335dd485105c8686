// lowbias32 (Chris Wellons' hash-prospector): a 32-bit bijection with full avalanche, the
// LoRA dropout mask's hash (src/ops/fused_lora_forward/dropout.ts; msl/lora/lora.metal).
fn mix32(v: u32) -> u32 {
  var x = v;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  return x ^ (x >> 16u);
}
