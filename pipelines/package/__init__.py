"""Deploy bundles: the chosen artifacts with the C++ library, the runtime libraries they load,
a CMake package, an example and a README, each proven by building and running it elsewhere.

    choose.py     which artifacts (`best`: per runtime, the fastest C++ cell that passed)
    platforms.py  the host and ARM64 (cross-built, run under QEMU): how to build and run on each
    libraries.py  the shared libraries a binary loads (DT_NEEDED), bundled or left to the system
    bundle.py     lays one bundle out, and its checksums and .tar.gz
    proof.py      moves a bundle, builds its example with a scrubbed environment and runs it
    readme.py     the bundle's README; page.py the "what would I ship?" page of them all
    make.py       the stage's work: every choice on every platform
"""
