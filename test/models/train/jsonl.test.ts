import type { FileHandle } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { DataError } from '../../../src/errors.js';
import { readJsonl } from '../../../src/models/train/data/jsonl.js';
import { parseRecord } from '../../../src/models/train/data/records.js';
import { jsonlFile } from './files.js';

// Every FileHandle the reader opens, to check that it closes them.
const opened: FileHandle[] = [];
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const open = async (...args: Parameters<typeof fs.open>) => {
    const h = await fs.open(...args);
    opened.push(h);
    return h;
  };
  return { ...fs, open, default: { ...fs, open } };
});

async function all(file: string) {
  const out = [];
  for await (const l of readJsonl(file)) out.push(l);
  return out;
}

describe('readJsonl', () => {
  it('yields each non-blank line with its 1-based number; CRLF, a BOM and blank lines are tolerated', async () => {
    const file = jsonlFile(Buffer.from('\uFEFF{"text":"a"}\r\n\n  \n{"text":"b"}\r\n{"text":"c"}', 'utf8'));
    const lines = await all(file);
    expect(lines.map((l) => [l.line, l.value])).toEqual([
      [1, { text: 'a' }],
      [4, { text: 'b' }],
      [5, { text: 'c' }],
    ]);
  });

  it('reassembles lines longer than a read chunk, multi-byte characters split across chunks included', async () => {
    // 3-byte and 4-byte characters with an odd prefix so chunk edges (64 KiB) fall inside them.
    const long = 'x' + '日🙂é'.repeat(40_000);
    const file = jsonlFile([{ text: 'short' }, { text: long }, { text: 'after' }]);
    const lines = await all(file);
    expect(lines.map((l) => (l.value as { text: string }).text)).toEqual(['short', long, 'after']);
  });

  it('reports a line that is not JSON or not UTF-8 as a DataError naming file:line, and goes on', async () => {
    const bytes = Buffer.concat([Buffer.from('{"text":"ok"}\n{"text": "trunc\n'), Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]), Buffer.from('{"text":"end"}\n')]);
    const file = jsonlFile(bytes);
    const lines = await all(file);
    expect(lines.map((l) => l.line)).toEqual([1, 2, 3, 4]);
    expect(lines[1].error).toBeInstanceOf(DataError);
    expect(lines[1].error!.message).toMatch(new RegExp(`^\\[data\\] ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: expected one JSON value per line`));
    expect(lines[1].error!.line).toBe(2);
    expect(lines[1].error!.file).toBe(file);
    expect(lines[2].error!.message).toMatch(/:3: expected UTF-8 text/);
    expect(lines[3].value).toEqual({ text: 'end' });
  });

  it('closes the file at the end and when the reader stops early', async () => {
    const file = jsonlFile(Array.from({ length: 5000 }, (_, i) => ({ text: `line ${i}` })));
    opened.length = 0;
    for (let k = 0; k < 3; k++) {
      for await (const l of readJsonl(file)) if (l.line === 2) break;
      let n = 0;
      for await (const _ of readJsonl(file)) n++;
      expect(n).toBe(5000);
    }
    // A closed FileHandle's fd is −1 (held here, a leaked one cannot be closed by GC meanwhile).
    expect(opened.map((h) => h.fd)).toEqual(new Array(6).fill(-1));
  });

  it('a missing file or a folder is a DataError naming it', async () => {
    await expect(all('/nonexistent/train.jsonl')).rejects.toThrow(/^\[data\] \/nonexistent\/train\.jsonl: cannot open the data file/);
    await expect(all('/tmp')).rejects.toThrow(DataError);
    await expect(all('/tmp')).rejects.toThrow(/not a regular file/);
  });
});

function caught(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('parseRecord', () => {
  const bad = (v: unknown) => () => parseRecord(v, 'd.jsonl', 7);
  it('accepts text and chat records, ignoring other keys', () => {
    expect(parseRecord({ text: 'hi', id: 3 }, 'd.jsonl', 1)).toEqual({ kind: 'text', text: 'hi' });
    expect(parseRecord({ messages: [{ role: 'user', content: 'q', name: 'x' }, { role: 'assistant', content: 'a' }] }, 'd.jsonl', 1)).toEqual({
      kind: 'chat',
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'a' },
      ],
    });
  });

  it('rejects every other shape with a DataError naming file:line, the key and what was expected', () => {
    expect(bad([1])).toThrow(/^\[data\] d\.jsonl:7: expected \{"text": string\} or \{"messages".*got an array/);
    expect(bad('text')).toThrow(/d\.jsonl:7: expected .* got "text"/);
    expect(bad(null)).toThrow(DataError);
    expect(bad({ prompt: 'x' })).toThrow(/got keys \["prompt"\]/);
    expect(bad({ text: 'a', messages: [] })).toThrow(/either "text" or "messages", not both/);
    expect(bad({ text: 5 })).toThrow(/d\.jsonl:7: 'text' .*string/);
    expect(bad({ text: '' })).toThrow(/'text' expected a non-empty string/);
    expect(bad({ messages: 'hi' })).toThrow(/'messages' .*array/);
    expect(bad({ messages: [] })).toThrow(/'messages' expected at least one message/);
    expect(bad({ messages: [{ role: 'bot', content: 'x' }, { role: 'assistant', content: 'y' }] })).toThrow(/'messages\.0\.role'/);
    expect(bad({ messages: [{ role: 'assistant' }] })).toThrow(/'messages\.0\.content'/);
    expect(bad({ messages: [{ role: 'user', content: 'x' }] })).toThrow(/'messages' expected at least one assistant message/);
    const e = caught(bad({ text: 1 }));
    expect(e).toBeInstanceOf(DataError);
    expect([(e as DataError).file, (e as DataError).line]).toEqual(['d.jsonl', 7]);
  });
});
