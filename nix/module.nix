# What the NixOS and the home-manager module share: the options, and the
# package installed with lib.hiPrio at `packagesPath` (a list of attribute
# names: environment.systemPackages or home.packages).
#
# lib.hiPrio makes this package's bin/pipenv win over another package's
# bin/pipenv in the same profile (python3Packages.pipenv, pipenv): without it
# the two would collide when the profile is built. It cannot reach other
# profiles: PATH order decides between them (see the README).
packagesPath:
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

  config = lib.mkIf cfg.enable (lib.setAttrByPath packagesPath [ (lib.hiPrio cfg.package) ]);
}
