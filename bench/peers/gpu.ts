import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';

/** What the peers get of pmetal's webgpu backend: its device, and buffers on it. */
export interface PeerGpu {
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  /** A storage buffer holding `data` (submitted at once, so a peer can use it next). */
  upload(data: ArrayBufferView): GPUBuffer;
  release(buf: GPUBuffer): void;
}

export function peerGpu(backend: WebGpuBackend): PeerGpu {
  const rt = backend.rt;
  return {
    gpu: rt.opened.gpu,
    adapter: rt.opened.adapter,
    device: rt.device,
    upload(data) {
      const buf = rt.createBuffer(data.byteLength);
      rt.upload(buf, data);
      rt.flush();
      return buf;
    },
    release: (buf) => rt.releaseBuffer(buf),
  };
}

let installed = false;

/**
 * What the browser builds of ORT and tfjs expect of their environment, in Node with Dawn:
 * `navigator.gpu` (both check for it; tfjs at import), `GPUDevice` as a global (ORT checks
 * `device instanceof GPUDevice`), and a `queue.writeBuffer` that accepts views of a
 * SharedArrayBuffer — ORT's threaded wasm heap is one, and Dawn's binding rejects (or
 * crashes on) such views, so they are copied into an ordinary buffer first.
 */
export function installPeerGlobals(p: PeerGpu): void {
  if (installed) return;
  installed = true;
  const g = globalThis as Record<string, unknown>;
  const nav = (g.navigator ??= {}) as Record<string, unknown>;
  if (!nav.gpu) {
    try {
      nav.gpu = p.gpu;
    } catch {
      Object.defineProperty(nav, 'gpu', { value: p.gpu, configurable: true });
    }
  }
  g.GPUDevice ??= p.device.constructor;
  g.GPUAdapter ??= p.adapter.constructor;
  const proto = Object.getPrototypeOf(p.device.queue) as { writeBuffer: (...a: never[]) => unknown };
  const write = proto.writeBuffer as (this: GPUQueue, ...a: unknown[]) => unknown;
  proto.writeBuffer = function (this: GPUQueue, buffer: GPUBuffer, offset: number, data: ArrayBufferView | ArrayBuffer, dataOffset?: number, size?: number) {
    if (typeof SharedArrayBuffer !== 'undefined' && ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      // dataOffset and size count elements of a typed array (bytes of a DataView).
      const view = data as unknown as Uint8Array;
      const from = dataOffset ?? 0;
      const copy = view.slice(from, size === undefined ? undefined : from + size);
      return write.call(this, buffer, offset, copy);
    }
    return write.call(this, buffer, offset, data, dataOffset, size);
  };
}
