# For users without flakes:
#   nix-build                                  # ./result/bin/pipenv, ./result/bin/pipenv-fhs
#   nix-env -f . -i                            # into ~/.nix-profile
#   pkgs.callPackage /path/to/pipenv-fhs { }   # from a configuration
{
  pkgs ? import <nixpkgs> { },
}:
pkgs.callPackage ./nix/package.nix { }
