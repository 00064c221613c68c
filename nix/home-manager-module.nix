# home-manager module: `programs.pipenv-fhs.enable = true;` puts `pipenv` and
# `pipenv-fhs` into home.packages, that is the user's profile: ~/.nix-profile
# for standalone home-manager (~/.local/state/nix/profile with
# use-xdg-base-directories), /etc/profiles/per-user/$USER with the NixOS
# module's useUserPackages. Both come before /run/current-system/sw/bin on
# NixOS's PATH, so this wins over a pipenv from environment.systemPackages.
import ./module.nix [ "home" "packages" ]
