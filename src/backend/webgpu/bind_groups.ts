/**
 * Bind groups kept per (pipeline layout, bound buffer windows, Params slot): a model's loop
 * calls the same ops on the same (pooled) buffers with the same Params, and Dawn's
 * createBindGroup is the largest host cost of recording a call (params_pool.ts says why the
 * Params slot repeats). A destroyed buffer's groups are dropped (`forget`); the cache keeps
 * at most `limit` groups, least recently used out first.
 */
export interface BindingWindow {
  binding: number;
  buffer: GPUBuffer;
  offset: number;
  size?: number;
}

export class BindGroupCache {
  #ids = new WeakMap<GPUBuffer, number>();
  #nextId = 1;
  #groups = new Map<string, GPUBindGroup>();
  #byBuffer = new Map<number, Set<string>>();
  hits = 0;
  misses = 0;
  /** Host ms inside Dawn's createBindGroup, since creation (the bench reports it per step). */
  createMs = 0;
  /** Bumped whenever a group leaves the cache: one held elsewhere (a launch tape's last group) is only reused while it is unchanged. */
  generation = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly limit = 8192,
  ) {}

  get size(): number {
    return this.#groups.size;
  }

  #id(b: GPUBuffer): number {
    let id = this.#ids.get(b);
    if (id === undefined) this.#ids.set(b, (id = this.#nextId++));
    return id;
  }

  /** The group for these windows; `label` (the op) names a new one in Dawn's messages. */
  get(layoutKey: string, layout: GPUBindGroupLayout, entries: readonly BindingWindow[], label?: string): GPUBindGroup {
    let key = layoutKey;
    for (const e of entries) key += `|${e.binding}:${this.#id(e.buffer)}:${e.offset}:${e.size ?? -1}`;
    const hit = this.#groups.get(key);
    if (hit) {
      this.hits++;
      this.#groups.delete(key);
      this.#groups.set(key, hit);
      return hit;
    }
    this.misses++;
    const t0 = performance.now();
    const group = this.device.createBindGroup({ label, layout, entries: entries.map((e) => ({ binding: e.binding, resource: { buffer: e.buffer, offset: e.offset, size: e.size } })) });
    this.createMs += performance.now() - t0;
    this.#groups.set(key, group);
    for (const e of entries) {
      const id = this.#id(e.buffer);
      let keys = this.#byBuffer.get(id);
      if (!keys) this.#byBuffer.set(id, (keys = new Set()));
      keys.add(key);
    }
    if (this.#groups.size > this.limit) this.#drop(this.#groups.keys().next().value as string);
    return group;
  }

  #drop(key: string): void {
    this.generation++;
    this.#groups.delete(key);
    // The key names its buffers: `layout|binding:id:offset:size|…`.
    for (const part of key.split('|').slice(1)) this.#byBuffer.get(Number(part.split(':')[1]))?.delete(key);
  }

  /** Drops every group that binds `buffer` (call before destroying it). */
  forget(buffer: GPUBuffer): void {
    const id = this.#ids.get(buffer);
    if (id === undefined) return;
    const keys = this.#byBuffer.get(id);
    if (keys) for (const k of [...keys]) this.#drop(k);
    this.#byBuffer.delete(id);
  }

  clear(): void {
    this.generation++;
    this.#groups.clear();
    this.#byBuffer.clear();
  }
}
