// TODO: kernels of softmax_ce (being written)
