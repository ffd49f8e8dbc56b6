"""Deploy bundles: the chosen artifacts with the C++ library, the runtime libraries they load,
a CMake package, an example and a README, each proven by building and running it elsewhere.

    choose.py     which artifacts (`best`: per runtime, the fastest C++ cell that passed)
    libraries.py  the shared libraries a binary loads (DT_NEEDED), bundled or left to the system
    bundle.py     lays one bundle out, and its checksums and .tar.gz
    proof.py      moves a bundle, builds its example with a scrubbed environment and runs it
"""
