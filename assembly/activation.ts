// TODO: kernels of activation (being written)
