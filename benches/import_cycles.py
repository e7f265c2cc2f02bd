#!/usr/bin/env python3
"""File-level import graph of src/ (every `use` line and inline `crate::`/`super::`/`self::` path,
and bare paths through declared child modules, test modules left out), resolved to the file that
defines each module; prints the strongly connected components (import cycles). Exit 1 on any."""
import os, re, sys
root = sys.argv[1] if len(sys.argv) > 1 else 'src'
files = {}
for d, _, fs in os.walk(root):
    for f in fs:
        if f.endswith('.rs'):
            p = os.path.join(d, f)
            rel = os.path.relpath(p, root)[:-3]
            parts = rel.split(os.sep)
            if parts[-1] == 'mod': parts = parts[:-1]
            if parts in (['lib'], ['main']): parts = []
            files[tuple(parts)] = p
def resolve(segs):
    # longest prefix that is a module file
    for n in range(len(segs), -1, -1):
        if tuple(segs[:n]) in files: return tuple(segs[:n])
    return None
def strip_tests(src):
    # drop #[cfg(test)] mod tests { ... } blocks (test-only imports are not the module's deps)
    out = []; i = 0
    m = re.search(r'#\[cfg\(test\)\]\s*\n\s*mod \w+ \{', src)
    if not m: return src
    return src[:m.start()]
edges = {}
pat = re.compile(r'\b(crate|super|self)((?:::\w+)+)')
usepat = re.compile(r'\buse\s+([^;]+);', re.S)
for mod, p in files.items():
    src = strip_tests(open(p).read())
    src = re.sub(r'//[^\n]*', '', src)
    targets = set()
    # expand use trees
    def expand(prefix, tree):
        tree = tree.strip()
        m = re.match(r'^(.*?)::\{(.*)\}$', tree, re.S)
        if m:
            base = m.group(1)
            inner = m.group(2)
            depth = 0; cur = ''; items = []
            for ch in inner:
                if ch == '{': depth += 1
                if ch == '}': depth -= 1
                if ch == ',' and depth == 0: items.append(cur); cur = ''
                else: cur += ch
            items.append(cur)
            res = []
            for it in items:
                it = it.strip()
                if not it: continue
                if it == 'self': res.append(prefix + base)
                else: res += expand(prefix + base + '::', it)
            return res
        return [prefix + re.sub(r'\s+as\s+\w+$', '', tree)]
    paths = []
    for m in usepat.finditer(src):
        paths += expand('', m.group(1))
    for m in pat.finditer(src):
        paths.append(m.group(1) + m.group(2))
    # bare paths through a declared child module (`mod x;` then `x::f()` or `use x::Y`)
    for child in re.findall(r'^\s*(?:pub(?:\([^)]*\))?\s+)?mod (\w+);', src, re.M):
        for m in re.finditer(r'(?<![:\w])' + child + r'((?:::\w+)+)', src):
            paths.append('self::' + child + m.group(1))
        for m in usepat.finditer(src):
            for e in expand('', m.group(1)):
                if e.startswith(child + '::'): paths.append('self::' + e)
    for path in paths:
        segs = [s for s in path.replace(' ', '').split('::') if s]
        if not segs: continue
        if segs[0] == 'crate': base = []; segs = segs[1:]
        elif segs[0] in ('super', 'self'):
            base = list(mod) if (p.endswith('mod.rs') or p.endswith('lib.rs')) else list(mod)
            # self in a file module = the module itself; super = parent
            while segs and segs[0] in ('super', 'self'):
                if segs[0] == 'super': base = base[:-1]
                segs = segs[1:]
        else: continue
        t = resolve(base + segs)
        if t is not None and t != mod and t != ():
            targets.add(t)
    edges[mod] = targets
# Tarjan
idx = {}; low = {}; st = []; on = set(); comps = []; c = [0]
sys.setrecursionlimit(10000)
def sc(v):
    idx[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in idx: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        comps.append(comp)
for v in edges:
    if v not in idx: sc(v)
bad = [c for c in comps if len(c) > 1]
for comp in bad:
    names = sorted('/'.join(m) for m in comp)
    print('CYCLE:', ' '.join(names))
    for m in comp:
        for t in sorted(edges[m]):
            if t in comp: print('   ', '/'.join(m), '->', '/'.join(t))
print(len(bad), 'cycles among', len(files), 'files')
sys.exit(1 if bad else 0)
