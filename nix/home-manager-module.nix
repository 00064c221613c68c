# home-manager module: `programs.pipenv-fhs.enable = true;` puts `pipenv` and
# `pipenv-fhs` into home.packages, that is the user's profile: ~/.nix-profile
# for standalone home-manager (~/.local/state/nix/profile with
# use-xdg-base-directories), /etc/profiles/per-user/$USER with the NixOS
# module's useUserPackages. Both come before /run/current-system/sw/bin on
# NixOS's PATH, so this wins over a pipenv from environment.systemPackages,
# and lib.hiPrio wins over another pipenv in home.packages.
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
        `bin/pipenv` wins over another pipenv in home.packages.
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    home.packages = [ (lib.hiPrio cfg.package) ];
  };
}
