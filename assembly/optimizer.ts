// TODO: kernels of optimizer (being written)
