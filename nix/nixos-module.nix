# NixOS module: `programs.pipenv-fhs.enable = true;` puts `pipenv` and
# `pipenv-fhs` into the system profile (/run/current-system/sw/bin), which
# comes last on NixOS's PATH: a pipenv in ~/.nix-profile or
# /etc/profiles/per-user/$USER wins over it (see the README).
import ./module.nix [ "environment" "systemPackages" ]
