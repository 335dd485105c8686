import { execFileSync } from 'node:child_process';

/** Kernel sources are embedded at build time; re-embed so tests always see the files on disk. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/embed-kernels.mjs'], { stdio: 'inherit' });
}
