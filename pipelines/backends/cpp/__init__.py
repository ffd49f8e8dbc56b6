"""C++ runners: the CMake build against the libraries inside the pip wheels."""
