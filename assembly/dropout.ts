// TODO: kernels of dropout (being written)
