import { ShimError } from './errors';
import { checkAttrPath } from './expression';

/**
 * Which nixpkgs attribute provides a library a wheel links to, for
 * `pipenv-fhs doctor`. Attribute candidates are listed newest name first:
 * nixpkgs renamed the X11 libraries in 2026 (`xorg.libX11` became `libx11`,
 * `xorg.xcbutilwm` became `libxcb-wm`, NixOS/nixpkgs PR 479724), and doctor
 * asks the project's nixpkgs which of the names it has.
 */
export type Provider =
  /** Add the attribute to `packages`. */
  | { kind: 'package'; attrs: readonly string[]; note?: string }
  /** Always in the environment (glibc, gcc's runtime): missing means something else is wrong. */
  | { kind: 'base'; attrs: readonly string[]; note: string }
  /** Provided by the NixOS system (the GPU driver under /run/opengl-driver/lib), not by a package. */
  | { kind: 'nixos'; setting: string; note?: string };

/** Extra entries for doctor's table: `SONAME=ATTR`, separated by spaces or commas. */
export const SONAMES_VARIABLE = 'PIPENV_FHS_SONAMES';

const BASE_NOTE =
  'always part of the environment: a library missing from it means the extension was built for another ' +
  'architecture or C library (a musllinux wheel?), or for a newer version of it';

const GPU_SETTING =
  'hardware.graphics.enable = true; (NixOS 24.11 and later; before: hardware.opengl.enable = true;) ' +
  'with the GPU driver, e.g. services.xserver.videoDrivers = [ "nvidia" ]; then nixos-rebuild switch: ' +
  "the driver's libraries appear in /run/opengl-driver/lib, which the environment sees";

const CUDA_NOTE =
  'unfree: nixpkgs must allow it (allowUnfree = true; in ~/.config/nixpkgs/config.nix); usually the ' +
  "pip wheels nvidia-* provide it instead (install the package's CUDA variant)";

const GLVND_NOTE =
  'libglvnd dispatches to the GPU driver: on NixOS also hardware.graphics.enable = true; ' +
  '(before 24.11: hardware.opengl.enable = true;) for /run/opengl-driver';

/** [attribute candidates, newest first; sonames; note]. */
const PACKAGES: [string[], string[], string?][] = [
  // The manylinux policies' libraries (pypa/auditwheel policy json; nixpkgs' pythonManylinuxPackages).
  [['zlib'], ['libz.so.1']],
  [['expat'], ['libexpat.so.1']],
  [['libxcrypt'], ['libcrypt.so.1', 'libcrypt.so.2']],
  [['ncurses5'], ['libncursesw.so.5', 'libncurses.so.5', 'libpanelw.so.5', 'libpanel.so.5', 'libtinfo.so.5', 'libformw.so.5', 'libmenuw.so.5']],
  [['ncurses'], ['libncursesw.so.6', 'libncurses.so.6', 'libtinfo.so.6', 'libpanelw.so.6', 'libpanel.so.6', 'libformw.so.6', 'libform.so.6', 'libmenuw.so.6', 'libmenu.so.6']],
  [['libGL'], ['libGL.so.1', 'libEGL.so.1', 'libGLX.so.0', 'libOpenGL.so.0', 'libGLESv2.so.2', 'libGLESv1_CM.so.1', 'libGLdispatch.so.0'], GLVND_NOTE],
  [['libGLU'], ['libGLU.so.1']],
  [['freeglut'], ['libglut.so.3']],
  [['glib'], ['libglib-2.0.so.0', 'libgobject-2.0.so.0', 'libgthread-2.0.so.0', 'libgio-2.0.so.0', 'libgmodule-2.0.so.0']],
  // X11: top-level since 2026, `xorg.*` before (and deprecated after).
  [['libx11', 'xorg.libX11'], ['libX11.so.6', 'libX11-xcb.so.1']],
  [['libxext', 'xorg.libXext'], ['libXext.so.6']],
  [['libxrender', 'xorg.libXrender'], ['libXrender.so.1']],
  [['libice', 'xorg.libICE'], ['libICE.so.6']],
  [['libsm', 'xorg.libSM'], ['libSM.so.6']],
  [['libxi', 'xorg.libXi'], ['libXi.so.6']],
  [['libxrandr', 'xorg.libXrandr'], ['libXrandr.so.2']],
  [['libxcursor', 'xorg.libXcursor'], ['libXcursor.so.1']],
  [['libxinerama', 'xorg.libXinerama'], ['libXinerama.so.1']],
  [['libxfixes', 'xorg.libXfixes'], ['libXfixes.so.3']],
  [['libxcomposite', 'xorg.libXcomposite'], ['libXcomposite.so.1']],
  [['libxdamage', 'xorg.libXdamage'], ['libXdamage.so.1']],
  [['libxtst', 'xorg.libXtst'], ['libXtst.so.6']],
  [['libxscrnsaver', 'xorg.libXScrnSaver'], ['libXss.so.1']],
  [['libxau', 'xorg.libXau'], ['libXau.so.6']],
  [['libxdmcp', 'xorg.libXdmcp'], ['libXdmcp.so.6']],
  [['libxxf86vm', 'xorg.libXxf86vm'], ['libXxf86vm.so.1']],
  [['libxft', 'xorg.libXft'], ['libXft.so.2']],
  [['libxt', 'xorg.libXt'], ['libXt.so.6']],
  [['libxmu', 'xorg.libXmu'], ['libXmu.so.6']],
  [['libxpm', 'xorg.libXpm'], ['libXpm.so.4']],
  [['libxv', 'xorg.libXv'], ['libXv.so.1']],
  [['libxshmfence', 'xorg.libxshmfence'], ['libxshmfence.so.1']],
  [['libxkbfile', 'xorg.libxkbfile'], ['libxkbfile.so.1']],
  // libxcb and the extensions it builds itself.
  [
    ['libxcb', 'xorg.libxcb'],
    [
      'libxcb.so.1', 'libxcb-shm.so.0', 'libxcb-render.so.0', 'libxcb-xfixes.so.0', 'libxcb-shape.so.0',
      'libxcb-randr.so.0', 'libxcb-xkb.so.1', 'libxcb-sync.so.1', 'libxcb-glx.so.0', 'libxcb-dri2.so.0',
      'libxcb-dri3.so.0', 'libxcb-present.so.0', 'libxcb-xinerama.so.0', 'libxcb-xinput.so.0',
      'libxcb-composite.so.0', 'libxcb-damage.so.0', 'libxcb-dpms.so.0', 'libxcb-record.so.0',
      'libxcb-res.so.0', 'libxcb-screensaver.so.0', 'libxcb-xtest.so.0', 'libxcb-xv.so.0',
      'libxcb-xvmc.so.0', 'libxcb-xf86dri.so.0',
    ],
  ],
  // xcb-util family (what Qt's xcb platform plugin loads).
  [['libxcb-util', 'xorg.xcbutil'], ['libxcb-util.so.1']],
  [['libxcb-image', 'xorg.xcbutilimage'], ['libxcb-image.so.0']],
  [['libxcb-keysyms', 'xorg.xcbutilkeysyms'], ['libxcb-keysyms.so.1']],
  [['libxcb-render-util', 'xorg.xcbutilrenderutil'], ['libxcb-render-util.so.0']],
  [['libxcb-wm', 'xorg.xcbutilwm'], ['libxcb-icccm.so.4', 'libxcb-ewmh.so.2']],
  [['libxcb-cursor', 'xorg.xcbutilcursor'], ['libxcb-cursor.so.0']],
  [['libxkbcommon'], ['libxkbcommon.so.0', 'libxkbcommon-x11.so.0']],
  // Fonts, drawing, toolkits.
  [['fontconfig'], ['libfontconfig.so.1']],
  [['freetype'], ['libfreetype.so.6']],
  [['harfbuzz'], ['libharfbuzz.so.0', 'libharfbuzz-subset.so.0']],
  [['cairo'], ['libcairo.so.2', 'libcairo-gobject.so.2']],
  [['pango'], ['libpango-1.0.so.0', 'libpangocairo-1.0.so.0', 'libpangoft2-1.0.so.0']],
  [['gdk-pixbuf'], ['libgdk_pixbuf-2.0.so.0']],
  [['gtk3'], ['libgtk-3.so.0', 'libgdk-3.so.0']],
  [['gtk2'], ['libgtk-x11-2.0.so.0', 'libgdk-x11-2.0.so.0']],
  [['at-spi2-core', 'atk'], ['libatk-1.0.so.0', 'libatk-bridge-2.0.so.0', 'libatspi.so.0']],
  [['libdrm'], ['libdrm.so.2']],
  [['libgbm', 'mesa'], ['libgbm.so.1']],
  [['vulkan-loader'], ['libvulkan.so.1']],
  [['wayland'], ['libwayland-client.so.0', 'libwayland-server.so.0', 'libwayland-cursor.so.0', 'libwayland-egl.so.1']],
  [['ocl-icd'], ['libOpenCL.so.1'], 'the GPU\'s OpenCL driver itself comes with hardware.graphics.enable = true; on NixOS'],
  [['SDL2'], ['libSDL2-2.0.so.0']],
  [['openal'], ['libopenal.so.1']],
  [['libnotify'], ['libnotify.so.4']],
  [['libsecret'], ['libsecret-1.so.0']],
  [['cups'], ['libcups.so.2']],
  [['nss'], ['libnss3.so', 'libnssutil3.so', 'libsmime3.so', 'libssl3.so']],
  [['nspr'], ['libnspr4.so', 'libplc4.so', 'libplds4.so']],
  // System libraries.
  [['dbus'], ['libdbus-1.so.3']],
  [['systemdLibs', 'systemd'], ['libsystemd.so.0']],
  [['udev', 'systemd'], ['libudev.so.1']],
  [['libuuid'], ['libuuid.so.1']],
  [['util-linux'], ['libblkid.so.1', 'libmount.so.1', 'libsmartcols.so.1']],
  [['libcap'], ['libcap.so.2']],
  [['libselinux'], ['libselinux.so.1']],
  [['elfutils'], ['libelf.so.1', 'libdw.so.1']],
  [['libunwind'], ['libunwind.so.8']],
  [['numactl'], ['libnuma.so.1']],
  [['rdma-core'], ['libibverbs.so.1', 'librdmacm.so.1']],
  [['libusb1'], ['libusb-1.0.so.0']],
  [['libtirpc'], ['libtirpc.so.3']],
  [['libnsl'], ['libnsl.so.3']],
  // Crypto, network, data.
  [['openssl'], ['libssl.so.3', 'libcrypto.so.3']],
  [['openssl_1_1'], ['libssl.so.1.1', 'libcrypto.so.1.1'], 'OpenSSL 1.1 is end of life and nixpkgs marks it insecure (permittedInsecurePackages): prefer a newer release of the wheel'],
  [['libffi'], ['libffi.so.8']],
  [['libffi_3_3'], ['libffi.so.7']],
  [['krb5'], ['libkrb5.so.3', 'libgssapi_krb5.so.2', 'libk5crypto.so.3', 'libkrb5support.so.0', 'libgssrpc.so.4', 'libcom_err.so.3']],
  [['e2fsprogs'], ['libcom_err.so.2', 'libss.so.2']],
  [['cyrus_sasl'], ['libsasl2.so.3']],
  [['openldap'], ['libldap.so.2', 'liblber.so.2']],
  [['libgcrypt'], ['libgcrypt.so.20']],
  [['libgpg-error'], ['libgpg-error.so.0']],
  [['libsodium'], ['libsodium.so.23', 'libsodium.so.26']],
  [['curl'], ['libcurl.so.4']],
  [['libidn2'], ['libidn2.so.0']],
  [['sqlite'], ['libsqlite3.so.0']],
  [['libpq', 'postgresql.lib'], ['libpq.so.5']],
  [['libmysqlclient'], ['libmysqlclient.so.21']],
  [['mariadb-connector-c'], ['libmariadb.so.3']],
  [['libxml2_13', 'libxml2'], ['libxml2.so.2'], 'libxml2 2.14 and later are libxml2.so.16: libxml2.so.2 is 2.13 or older'],
  [['libxml2'], ['libxml2.so.16']],
  [['libxslt'], ['libxslt.so.1', 'libexslt.so.0']],
  [['libyaml'], ['libyaml-0.so.2']],
  [['zeromq'], ['libzmq.so.5']],
  [['libevent'], ['libevent-2.1.so.7']],
  [['pcre2'], ['libpcre2-8.so.0']],
  [['pcre'], ['libpcre.so.1']],
  [['readline'], ['libreadline.so.8']],
  [['libedit'], ['libedit.so.0']],
  // Compression, images.
  [['bzip2'], ['libbz2.so.1', 'libbz2.so.1.0']],
  [['xz'], ['liblzma.so.5']],
  [['zstd'], ['libzstd.so.1']],
  [['lz4'], ['liblz4.so.1']],
  [['libpng'], ['libpng16.so.16']],
  [['libjpeg'], ['libjpeg.so.62']],
  [['libtiff'], ['libtiff.so.6']],
  [['libwebp'], ['libwebp.so.7', 'libwebpdemux.so.2', 'libwebpmux.so.3', 'libsharpyuv.so.0']],
  [['openjpeg'], ['libopenjp2.so.7']],
  [['lcms2'], ['liblcms2.so.2']],
  // Sound.
  [['portaudio'], ['libportaudio.so.2']],
  [['alsa-lib'], ['libasound.so.2']],
  [['libpulseaudio'], ['libpulse.so.0', 'libpulse-simple.so.0']],
  [['libsndfile'], ['libsndfile.so.1']],
  [['libjack2'], ['libjack.so.0']],
  [['libopus'], ['libopus.so.0']],
  [['libogg'], ['libogg.so.0']],
  [['libvorbis'], ['libvorbis.so.0', 'libvorbisenc.so.2', 'libvorbisfile.so.3']],
  [['lame'], ['libmp3lame.so.0']],
  // Numerics.
  [['gfortran.cc.lib'], ['libgfortran.so.5', 'libquadmath.so.0']],
  [['llvmPackages.openmp'], ['libomp.so.5', 'libomp.so']],
  [['openblas'], ['libopenblas.so.0']],
  [['blas'], ['libblas.so.3']],
  [['lapack'], ['liblapack.so.3']],
  [['fftw'], ['libfftw3.so.3']],
  [['fftwFloat'], ['libfftw3f.so.3']],
  [['gmp'], ['libgmp.so.10']],
  [['mpfr'], ['libmpfr.so.6']],
  [['tbb'], ['libtbb.so.12']],
];

/** Always in the environment: buildFHSEnv's base packages. */
const BASE: [string[], string[]][] = [
  [
    ['glibc'],
    [
      'libc.so.6', 'libm.so.6', 'libdl.so.2', 'librt.so.1', 'libpthread.so.0', 'libresolv.so.2',
      'libutil.so.1', 'libnsl.so.1', 'libanl.so.1', 'libmvec.so.1', 'libBrokenLocale.so.1',
      'libthread_db.so.1', 'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1',
    ],
  ],
  [['stdenv.cc.cc.lib'], ['libstdc++.so.6', 'libgcc_s.so.1', 'libgomp.so.1', 'libatomic.so.1', 'libitm.so.1']],
];

/** Sonames whose version number varies: matched by pattern. */
const PATTERNS: { test: RegExp; provider: (match: RegExpExecArray) => Provider }[] = [
  // The NVIDIA driver's own libraries: from the NixOS system, never from a package.
  {
    test: /^lib(cuda|nvidia-[\w-]+|nvcuvid|nvoptix|cudadebugger|EGL_nvidia|GLX_nvidia|GLESv2_nvidia|GLESv1_CM_nvidia)\.so(\.\d+)*$/,
    provider: () => ({ kind: 'nixos', setting: GPU_SETTING }),
  },
  // CUDA runtime libraries, by major version.
  ...(
    [
      ['cudart', 'cudaPackages.cuda_cudart'],
      ['cublas', 'cudaPackages.libcublas'],
      ['cublasLt', 'cudaPackages.libcublas'],
      ['cudnn', 'cudaPackages.cudnn'],
      ['nccl', 'cudaPackages.nccl'],
      ['nvrtc', 'cudaPackages.cuda_nvrtc'],
      ['cufft', 'cudaPackages.libcufft'],
      ['curand', 'cudaPackages.libcurand'],
      ['cusparse', 'cudaPackages.libcusparse'],
      ['cusolver', 'cudaPackages.libcusolver'],
    ] as const
  ).map(([name, attr]) => ({
    test: new RegExp(`^lib${name}\\.so(\\.\\d+)*$`),
    provider: (): Provider => ({ kind: 'package', attrs: [attr], note: CUDA_NOTE }),
  })),
  {
    test: /^libicu(uc|i18n|data|io|test|tu)\.so\.(\d+)$/,
    provider: (m) => ({
      kind: 'package',
      attrs: [`icu${m[2]}`, 'icu'],
      note: `ICU ${m[2]} exactly: its version is part of the library's name`,
    }),
  },
  {
    test: /^lib(avcodec|avformat|avutil|avfilter|avdevice|swscale|swresample|postproc)\.so\.\d+$/,
    provider: () => ({
      kind: 'package',
      attrs: ['ffmpeg'],
      note: 'the number after .so must be the one of the FFmpeg release the wheel was built for: nixpkgs also has ffmpeg_4, ffmpeg_6, ffmpeg_7',
    }),
  },
  {
    test: /^libboost_\w+\.so\.(\d+)\.(\d+)\.\d+$/,
    provider: (m) => ({ kind: 'package', attrs: [`boost${m[1]}${m[2]}`, 'boost'], note: `Boost ${m[1]}.${m[2]} exactly` }),
  },
  {
    test: /^libhdf5(_hl|_cpp|_hl_cpp)?\.so\.\d+$/,
    provider: () => ({ kind: 'package', attrs: ['hdf5'], note: 'the number after .so must match the HDF5 release' }),
  },
];

const TABLE = new Map<string, Provider>();
for (const [attrs, sonames, note] of PACKAGES) {
  for (const soname of sonames) TABLE.set(soname, { kind: 'package', attrs, ...(note ? { note } : {}) });
}
for (const [attrs, sonames] of BASE) {
  for (const soname of sonames) TABLE.set(soname, { kind: 'base', attrs, note: BASE_NOTE });
}

/**
 * `PIPENV_FHS_SONAMES`: `SONAME=ATTR` entries (spaces or commas between), for
 * libraries of the user's own packages or overlays; they come before the table.
 */
export function extraProviders(env: NodeJS.ProcessEnv): Map<string, string> {
  const extra = new Map<string, string>();
  for (const entry of (env[SONAMES_VARIABLE] ?? '').split(/[\s,]+/).filter(Boolean)) {
    const match = /^([^=/\s]+\.so(?:\.[\w.]+)?)=(.+)$/.exec(entry);
    if (!match) throw new ShimError(`${SONAMES_VARIABLE}: ${JSON.stringify(entry)} is not SONAME=ATTRIBUTE (e.g. libfoo.so.1=foo)`, 2);
    extra.set(match[1], checkAttrPath(match[2], SONAMES_VARIABLE));
  }
  return extra;
}

/** The provider of a soname, or undefined for one doctor does not know. */
export function providerOf(soname: string, extra: ReadonlyMap<string, string> = new Map()): Provider | undefined {
  const own = extra.get(soname);
  if (own) return { kind: 'package', attrs: [own], note: `from ${SONAMES_VARIABLE}` };
  const known = TABLE.get(soname);
  if (known) return known;
  for (const { test, provider } of PATTERNS) {
    const match = test.exec(soname);
    if (match) return provider(match);
  }
  return undefined;
}

/** Every soname with a fixed entry (for tests and documentation). */
export function tableSonames(): string[] {
  return [...TABLE.keys()];
}

/** Every attribute the table can suggest (for tests: each must be a valid attribute path). */
export function tableAttributes(): string[] {
  return [...new Set([...TABLE.values()].flatMap((p) => (p.kind === 'nixos' ? [] : p.attrs)))];
}
