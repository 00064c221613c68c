# NixOS module: `programs.pipenv-fhs.enable = true;` puts `pipenv` and
# `pipenv-fhs` into the system profile (/run/current-system/sw/bin).
#
# lib.hiPrio makes this package's bin/pipenv win over any other package's
# bin/pipenv in environment.systemPackages (python3Packages.pipenv, pipenv):
# without it the two would collide when the profile is built. It cannot reach
# other profiles: a pipenv in ~/.nix-profile or /etc/profiles/per-user/$USER
# (home-manager, users.users.<name>.packages) comes earlier on PATH and wins;
# install pipenv-fhs into that profile instead (see the README).
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.programs.pipenv-fhs;
in
{
  options.programs.pipenv-fhs = {
    enable = lib.mkEnableOption "pipenv-fhs, a drop-in `pipenv` that runs pipenv inside a Nix FHS environment so that manylinux wheels load";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = lib.literalExpression "pkgs.callPackage (pipenv-fhs + \"/nix/package.nix\") { }";
      description = ''
        The pipenv-fhs package. Installed with `lib.hiPrio`, so that its
        `bin/pipenv` wins over another pipenv in the same profile.
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    environment.systemPackages = [ (lib.hiPrio cfg.package) ];
  };
}
