{
  description = "pipenv-fhs: a drop-in pipenv for NixOS that runs pipenv inside a Nix FHS environment, so manylinux wheels load";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      # The front end reads /proc and the FHS environment is bubblewrap: Linux only.
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (
        _system: pkgs:
        let
          pipenv-fhs = pkgs.callPackage ./nix/package.nix { };
        in
        {
          inherit pipenv-fhs;
          default = pipenv-fhs;
        }
      );

      overlays.default = final: _prev: {
        pipenv-fhs = final.callPackage ./nix/package.nix { };
      };

      apps = forAllSystems (
        system: _pkgs:
        let
          package = self.packages.${system}.default;
        in
        {
          default = {
            type = "app";
            program = "${package}/bin/pipenv-fhs";
            meta.description = "pipenv-fhs: status, build, run, doctor and gc of the FHS environments pipenv runs in";
          };
          pipenv = {
            type = "app";
            program = "${package}/bin/pipenv";
            meta.description = "pipenv, run inside a Nix FHS environment on NixOS";
          };
        }
      );

      # Both modules build the package from the configuration's own nixpkgs
      # (pkgs.callPackage); set programs.pipenv-fhs.package to
      # pipenv-fhs.packages.<system>.default for the one pinned by this flake.
      nixosModules.default = ./nix/nixos-module.nix;
      homeManagerModules.default = ./nix/home-manager-module.nix;
    };
}
