// TODO: kernels of batch (being written)
