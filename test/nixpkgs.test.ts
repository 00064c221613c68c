// What `<nixpkgs>` means, read without Nix: NIX_PATH as Nix splits it, locked
// flake references, and Nix string literals that nothing can break out of.
import { execFileSync } from 'node:child_process';
import test from 'ava';
import { lockedReference, nixString, splitNixPath } from '../lib/nixpkgs';

test('NIX_PATH splits on colons, except after a URL scheme or flake:', (t) => {
  t.deepEqual(splitNixPath('nixpkgs=/a/b:/c'), ['nixpkgs=/a/b', '/c']);
  t.deepEqual(splitNixPath('nixpkgs=flake:nixpkgs:/etc/nix/path'), ['nixpkgs=flake:nixpkgs', '/etc/nix/path']);
  t.deepEqual(splitNixPath('nixpkgs=https://example.invalid/nixpkgs.tar.gz:other=/x'), [
    'nixpkgs=https://example.invalid/nixpkgs.tar.gz',
    'other=/x',
  ]);
  t.deepEqual(splitNixPath('channel:nixos-25.05'), ['channel:nixos-25.05']);
  t.deepEqual(splitNixPath('::/a::'), ['/a'], 'empty entries are dropped');
});

test('a flake.lock nixpkgs input becomes a locked reference with its revision and hash', (t) => {
  const lock = (locked: object, inputs: object = { nixpkgs: 'nixpkgs' }) =>
    JSON.stringify({ root: 'root', version: 7, nodes: { root: { inputs }, nixpkgs: { locked } } });
  t.is(
    lockedReference(lock({ type: 'github', owner: 'NixOS', repo: 'nixpkgs', rev: 'abc123', narHash: 'sha256-x=' }), 'flake.lock'),
    'github:NixOS/nixpkgs/abc123?narHash=sha256-x=',
  );
  t.is(lockedReference(lock({ type: 'git', url: 'file:///src/nixpkgs', rev: 'abc123' }), 'flake.lock'), 'git+file:///src/nixpkgs?rev=abc123');
  t.is(lockedReference(lock({ type: 'github', owner: 'a', repo: 'b', rev: 'c' }, { other: 'nixpkgs' }), 'flake.lock'), undefined);
  t.is(lockedReference(lock({ type: 'github', owner: 'a', repo: 'b', rev: 'c' }, { nixpkgs: ['other', 'nixpkgs'] }), 'flake.lock'), undefined, 'a follows is not guessed');
  t.throws(() => lockedReference('{', '/p/flake.lock'), { message: '/p/flake.lock: not valid JSON' });
  t.throws(() => lockedReference(lock({ type: 'mercurial', url: 'x' }), '/p/flake.lock'), { message: /^\/p\/flake\.lock: nixpkgs: a flake input of type "mercurial", which pipenv-fhs cannot read$/ });
  t.throws(() => lockedReference(lock({ type: 'github', owner: 'a"b', repo: 'c', rev: 'd' }), '/p/flake.lock'), {
    message: /^\/p\/flake\.lock: nixpkgs: .* is not a flake reference or a path$/,
  });
});

test('nixString: Nix reads back exactly the text, whatever it holds', (t) => {
  for (const text of ['plain', 'a"b', '${builtins.abort "x"}', 'back\\slash', 'new\nline', '$${x}', "'' quotes"]) {
    const read = execFileSync('nix-instantiate', ['--eval', '--json', '-E', nixString(text)], { encoding: 'utf8' });
    t.is(JSON.parse(read), text);
  }
});
