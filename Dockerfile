# The swarm image: the static binary and CA certificates, nothing else. Built by `make image`.
#   docker run -d -p 2377:2375 swarm manage consul://CONSUL:8500/swarm
#   docker run -d swarm join --advertise=IP:2375 consul://CONSUL:8500/swarm
#   docker run --rm swarm list consul://CONSUL:8500/swarm
#   docker run --rm -u 0 --net=host --pid=host --privileged -v /var/run/docker.sock:/var/run/docker.sock \
#       swarm pipework br1 CONTAINER 192.168.1.10/24
FROM scratch
COPY swarm /swarm
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# Inside the container the manager listens on every interface; publish it with -p.
ENV SWARM_HOST=:2375
EXPOSE 2375
USER 65534:65534
ENTRYPOINT ["/swarm"]
CMD ["--help"]
