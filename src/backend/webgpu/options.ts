import { z } from 'zod';

/** Options of the webgpu backend (validated with zod). */
export const webgpuOptions = z
  .object({
    powerPreference: z.enum(['low-power', 'high-performance']).optional(),
    /** Case-insensitive substring of the adapter's name/description/vendor. */
    adapter: z.string().min(1).optional(),
    /** Dawn toggles, e.g. ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia'] on NVIDIA. */
    toggles: z.array(z.string().regex(/^[a-z0-9_]+$/, 'a Dawn toggle name')).default([]),
    /** Dawn toggles to turn off, e.g. ['timestamp_quantization'] for exact GPU timings in benchmarks. */
    disableToggles: z.array(z.string().regex(/^[a-z0-9_]+$/, 'a Dawn toggle name')).default([]),
    /** Dawn backend ('vulkan', 'metal', 'd3d12', 'null', …); default: Dawn's choice. */
    dawnBackend: z.string().regex(/^[a-z0-9]+$/).optional(),
    /** Optional features to leave off (to test the portable tier on a capable adapter). */
    disableFeatures: z.array(z.string()).default([]),
  })
  .strict();
export type WebGpuOptions = z.input<typeof webgpuOptions>;
