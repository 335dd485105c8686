/**
 * A step graph: the commands one call of a fixed-shape step recorded (every dispatch with its
 * pipeline and bind group, the copies, clears and constant uploads), replayed on the very same
 * buffers with one native call per pipeline, bind group and dispatch and nothing else — no op
 * validation, planning, tensor or bind-group bookkeeping. A 1B decode step records ~230
 * dispatches, and recording them op by op cost ~5 ms of JavaScript on the H100 machine (run S8,
 * `bench --model --cpu-profile`) against ~2.5 ms of Dawn's own encoding and submit: the step
 * was host-bound.
 *
 * The runtime keeps a graph's buffers out of the pool while it lives (a tensor of the step
 * disposed during the capture keeps its buffer for the graph), and its Params slots out of
 * re-assignment (params_pool.ts). Host data that changes between replays (positions, cache
 * lengths, a step counter) lives in tensors made before the capture and written before each
 * replay (StepGraph.write); an upload recorded during the capture is replayed with the same bytes.
 */
export type GraphCmd =
  | { k: 'dispatch'; pipeline: GPUComputePipeline; group: GPUBindGroup; x: number; y: number; z: number; op: string; key: string }
  | { k: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number }
  | { k: 'clear'; dst: GPUBuffer; offset: number; size?: number }
  | { k: 'upload'; dst: GPUBuffer; data: Uint8Array; offset: number };

/** What a capture collects while the step is recorded (and run) the ordinary way. */
export class GraphRecorder {
  readonly cmds: GraphCmd[] = [];
  readonly buffers = new Set<GPUBuffer>();
  readonly written = new Set<GPUBuffer>();
  readonly slots = new Set<string>();

  dispatch(cmd: Extract<GraphCmd, { k: 'dispatch' }>, buffers: readonly GPUBuffer[], writes: readonly GPUBuffer[], slot: string | undefined): void {
    this.cmds.push(cmd);
    for (const b of buffers) this.buffers.add(b);
    for (const b of writes) this.written.add(b);
    if (slot !== undefined) this.slots.add(slot);
  }

  transfer(cmd: Exclude<GraphCmd, { k: 'dispatch' }>): void {
    this.cmds.push(cmd);
    if (cmd.k === 'copy') this.buffers.add(cmd.src);
    this.buffers.add(cmd.dst);
    this.written.add(cmd.dst);
  }

  finish(): RecordedGraph {
    return { cmds: this.cmds, buffers: [...this.buffers], written: [...this.written], slots: [...this.slots], dispatches: this.cmds.filter((c) => c.k === 'dispatch').length, disposed: false };
  }
}

export interface RecordedGraph {
  readonly cmds: readonly GraphCmd[];
  readonly buffers: readonly GPUBuffer[];
  readonly written: readonly GPUBuffer[];
  readonly slots: readonly string[];
  readonly dispatches: number;
  disposed: boolean;
}
