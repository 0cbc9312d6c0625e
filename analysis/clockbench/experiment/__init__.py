"""The experiment runner: launches MPI runs of the exercise's matrices; nothing else in the package imports it."""
