"""Per-call conv2d times (fwd, bwd_data, bwd_weight) on the digits CNN's small maps (issue 18):
min of rounds. RAYON_NUM_THREADS=1 for one thread. Pick cases by index: python benches/conv_small_maps.py 0,2"""
import os,sys,time
import numpy as np
import ferrograd._native as N
cases=[((64,16,8,8),(16,16,3,3),1,1),((64,32,4,4),(32,32,3,3),1,1),((64,64,2,2),(64,64,3,3),1,1),((64,128,1,1),(128,128,3,3),1,1),
       ((64,32,4,4),(64,32,3,3),2,1),((64,64,2,2),(128,64,3,3),2,1),
       # 6..9: the shifted-copy path (stride 1, padding 1): the digits stem, 16×16 maps, a CIFAR stem, 32×32
       ((64,1,8,8),(16,1,3,3),1,1),((32,16,16,16),(16,16,3,3),1,1),((64,3,32,32),(16,3,3,3),1,1),((8,16,32,32),(16,16,3,3),1,1)]
if len(sys.argv)>1: cases=[cases[int(i)] for i in sys.argv[1].split(",")]
def bench(f,n=50,r=7):
    for _ in range(3): f()
    best=1e9
    for _ in range(r):
        t=time.perf_counter()
        for _ in range(n): f()
        best=min(best,(time.perf_counter()-t)/n)
    return best*1e6
rng=np.random.default_rng(0)
for xs,ws,s,p in cases:
    x=rng.standard_normal(xs,dtype=np.float32); w=rng.standard_normal(ws,dtype=np.float32)
    oh=(xs[2]+2*p-3)//s+1  # square maps
    y=N.conv2d_forward(x,w,None,(s,s),(p,p),(1,1),1,(oh,oh))
    gy=rng.standard_normal(y.shape,dtype=np.float32)
    tf=bench(lambda: N.conv2d_forward(x,w,None,(s,s),(p,p),(1,1),1,(oh,oh)))
    td=bench(lambda: N.conv2d_backward_data(gy,w,(xs[2],xs[3]),(s,s),(p,p),(1,1),1))
    tw=bench(lambda: N.conv2d_backward_weight(x,gy,(3,3),(s,s),(p,p),(1,1),1,False))
    macs=xs[0]*ws[0]*ws[1]*9*oh*oh
    print(f"{str(xs):18} {str(ws):16} s{s}: fwd {tf:6.0f} bwd_data {td:6.0f} bwd_weight {tw:6.0f} us  (nominal {macs/tf/1e3:.1f} GMAC/s fwd)")
