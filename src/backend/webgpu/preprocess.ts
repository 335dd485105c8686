/**
 * The WGSL preprocessor — deliberately small, the only way shaders are specialised beyond
 * `override` constants:
 *
 *   #include "path.wgsl" (A=x, B=2)   paste a file, replacing the whole words A, B in it
 *                                     (an included file's own #include paths see A, B too)
 *   #define NAME value                replace the whole word NAME from here on
 *   #if EXPR / #elif EXPR / #else / #endif, #ifdef NAME / #ifndef NAME
 *   a##b                              token paste (after replacement: load_##NAME → load_x)
 *   #for NAME COUNT … #endfor          the body pasted COUNT times, the whole word NAME replaced
 *                                     by 0, 1, … (COUNT an EXPR; a u suffix is allowed: 4u).
 *                                     Loops the shader compiler must not leave rolled: an array
 *                                     indexed only by constants stays in registers (a rolled
 *                                     loop's dynamic index sends it to local memory on NVIDIA).
 *                                     Where the define ROLL_FOR is nonzero it becomes a WGSL loop
 *                                     instead (`for (var NAME = 0u; …)`, the same body): llvmpipe
 *                                     compiles big unrolled bodies slowly (tens of seconds). A
 *                                     body's #if must then not test NAME.
 *
 * EXPR: integers, defined names (undefined ones are 0), ( ) ! == != < <= > >= && || + -.
 * Every output line remembers its file and line, so compile errors point at the source.
 */
export interface Preprocessed {
  code: string;
  /** For output line i (0-based): the source file and its 1-based line. */
  lineMap: { file: string; line: number }[];
}

export type Defines = Record<string, string | number | boolean>;

export function preprocess(files: Record<string, string>, entry: string, defines: Defines): Preprocessed {
  const macros = new Map<string, string>();
  for (const [k, v] of Object.entries(defines)) macros.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  const out: string[] = [];
  const lineMap: Preprocessed['lineMap'] = [];
  const included = new Set<string>();

  const emit = (file: string, text: string, subst: Map<string, string>, depth: number, firstLine = 1) => {
    if (depth > 16) throw new Error(`#include nesting too deep at ${file}`);
    const lines = text.split('\n');
    // Stack of [active, anyBranchTaken, parentActive].
    const stack: [boolean, boolean, boolean][] = [];
    const active = () => stack.every((s) => s[0]);
    const sub = (s: string) => paste(replaceWords(replaceWords(s, subst), macros));
    for (let n = 0; n < lines.length; n++) {
      const raw = lines[n];
      const t = raw.trim();
      const where = `${file}:${n + firstLine}`;
      if (t.startsWith('#')) {
        const m = /^#(\w+)\s*(.*)$/.exec(t);
        if (!m) throw new Error(`${where}: bad directive '${t}'`);
        const [, dir, rest] = m;
        if (dir === 'if' || dir === 'ifdef' || dir === 'ifndef') {
          const parent = active();
          let v: boolean;
          if (dir === 'if') v = parent && evalExpr(sub(rest), where) !== 0;
          else {
            const name = replaceWords(rest.trim(), subst);
            v = parent && (dir === 'ifdef' ? macros.has(name) : !macros.has(name));
          }
          stack.push([v, v, parent]);
        } else if (dir === 'elif') {
          const top = stack[stack.length - 1];
          if (!top) throw new Error(`${where}: #elif without #if`);
          const v = top[2] && !top[1] && evalExpr(sub(rest), where) !== 0;
          top[0] = v;
          top[1] ||= v;
        } else if (dir === 'else') {
          const top = stack[stack.length - 1];
          if (!top) throw new Error(`${where}: #else without #if`);
          top[0] = top[2] && !top[1];
          top[1] = true;
        } else if (dir === 'endif') {
          if (!stack.pop()) throw new Error(`${where}: #endif without #if`);
        } else if (!active()) {
          continue;
        } else if (dir === 'for') {
          const f = /^(\w+)\s+(.+)$/.exec(rest);
          if (!f) throw new Error(`${where}: bad #for (expected #for NAME COUNT)`);
          const count = evalExpr(sub(f[2]).replace(/\b(\d+)u\b/g, '$1'), where);
          // The body: up to the matching #endfor (nested #for … #endfor pairs inside).
          let nest = 0;
          let end = n + 1;
          for (; end < lines.length; end++) {
            const d = /^#(\w+)/.exec(lines[end].trim())?.[1];
            if (d === 'for') nest++;
            else if (d === 'endfor' && nest-- === 0) break;
          }
          if (end === lines.length) throw new Error(`${where}: #for without #endfor`);
          const body = lines.slice(n + 1, end).join('\n');
          if (evalExpr(sub('ROLL_FOR'), where)) {
            out.push(`for (var ${f[1]} = 0u; ${f[1]} < ${count}u; ${f[1]} = ${f[1]} + 1u) {`);
            lineMap.push({ file, line: n + firstLine });
            emit(file, body, subst, depth + 1, n + 1 + firstLine);
            out.push('}');
            lineMap.push({ file, line: end + firstLine });
          } else {
            for (let k = 0; k < count; k++) emit(file, body, new Map([...subst, [f[1], String(k)]]), depth + 1, n + 1 + firstLine);
          }
          n = end;
        } else if (dir === 'endfor') {
          throw new Error(`${where}: #endfor without #for`);
        } else if (dir === 'define') {
          const d = /^(\w+)\s*(.*)$/.exec(rest);
          if (!d) throw new Error(`${where}: bad #define`);
          macros.set(d[1], sub(d[2]));
        } else if (dir === 'include') {
          const inc = /^"([^"]+)"\s*(?:\((.*)\))?$/.exec(rest);
          if (!inc) throw new Error(`${where}: bad #include`);
          // The path itself may be an include argument (common/slots.wgsl includes SLOT).
          const path = replaceWords(inc[1], subst);
          const body = files[path];
          if (body === undefined) throw new Error(`${where}: #include "${path}" not found`);
          const args = new Map(subst);
          for (const a of (inc[2] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
            const [k, v] = a.split('=').map((s) => s.trim());
            if (!k || v === undefined) throw new Error(`${where}: bad include argument '${a}'`);
            args.set(k, sub(v));
          }
          // A plain include (no arguments) is pasted once, like a header with a guard.
          if (!inc[2]) {
            if (included.has(path)) continue;
            included.add(path);
          }
          emit(path, body, args, depth + 1);
        } else {
          throw new Error(`${where}: unknown directive #${dir}`);
        }
        continue;
      }
      if (!active()) continue;
      out.push(sub(raw));
      lineMap.push({ file, line: n + firstLine });
    }
    if (stack.length) throw new Error(`${file}: unterminated #if`);
  };

  const src = files[entry];
  if (src === undefined) throw new Error(`shader '${entry}' not found`);
  emit(entry, src, new Map(), 0);
  return { code: out.join('\n'), lineMap };
}

function replaceWords(s: string, m: Map<string, string>): string {
  if (m.size === 0) return s;
  return s.replace(/[A-Za-z_][A-Za-z0-9_]*/g, (w) => m.get(w) ?? w);
}

function paste(s: string): string {
  return s.includes('##') ? s.replace(/\s*##\s*/g, '') : s;
}

/** A tiny recursive-descent evaluator: no eval, no surprises. */
export function evalExpr(src: string, where: string): number {
  const toks = src.match(/\d+|[A-Za-z_]\w*|&&|\|\||==|!=|<=|>=|[()!<>+-]/g) ?? [];
  let i = 0;
  const peek = () => toks[i];
  const take = () => toks[i++];
  const fail = (): never => {
    throw new Error(`${where}: cannot evaluate '#if ${src}'`);
  };
  const primary = (): number => {
    const t = take();
    if (t === undefined) return fail();
    if (t === '(') {
      const v = or();
      if (take() !== ')') fail();
      return v;
    }
    if (t === '!') return primary() ? 0 : 1;
    if (t === '-') return -primary();
    if (/^\d+$/.test(t)) return Number(t);
    if (/^[A-Za-z_]/.test(t)) return 0; // an undefined name
    return fail();
  };
  const add = (): number => {
    let v = primary();
    while (peek() === '+' || peek() === '-') v = take() === '+' ? v + primary() : v - primary();
    return v;
  };
  const cmp = (): number => {
    let v = add();
    for (;;) {
      const op = peek();
      if (op === '<' || op === '>' || op === '<=' || op === '>=') {
        take();
        const r = add();
        v = Number(op === '<' ? v < r : op === '>' ? v > r : op === '<=' ? v <= r : v >= r);
      } else return v;
    }
  };
  const eq = (): number => {
    let v = cmp();
    while (peek() === '==' || peek() === '!=') v = Number(take() === '==' ? v === cmp() : v !== cmp());
    return v;
  };
  const and = (): number => {
    let v = eq();
    while (peek() === '&&') {
      take();
      const r = eq();
      v = Number(!!v && !!r);
    }
    return v;
  };
  const or = (): number => {
    let v = and();
    while (peek() === '||') {
      take();
      const r = and();
      v = Number(!!v || !!r);
    }
    return v;
  };
  const v = or();
  if (i !== toks.length) fail();
  return v;
}
