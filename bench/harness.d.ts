import type { KernelBackend } from '../src/backend/interface.js';
export interface BenchRecord {
    op: string;
    backend: string;
    tier: string;
    dtype: string;
    shape: string;
    /** Median GPU time per call (timestamps where the adapter has them, else wall time to completion). */
    ms: number;
    minMs: number;
    maxMs: number;
    runs: number;
    timing: 'gpu-timestamps' | 'wall';
    tflops: number;
    gbps: number;
    /** gbps over the copy kernel's bandwidth measured in the same run (memory-bound ops). */
    copyFraction?: number;
    error?: string;
}
export interface BenchOptions {
    backends: KernelBackend[];
    ops?: string[];
    tiers?: string[];
    dtypes?: string[];
    /** Only bench shapes whose label contains this. */
    shape?: string;
    warmup?: number;
    reps?: number;
    onRecord?: (r: BenchRecord) => void;
}
export interface BenchResult {
    records: BenchRecord[];
    copy?: {
        gbps: number;
        ms: number;
        bytes: number;
    };
    device: Record<string, string>;
}
/** Times every op × backend × tier × dtype × bench shape from the registry. */
export declare function runBench(o: BenchOptions): Promise<BenchResult>;
export declare function benchTable(res: BenchResult): string;
