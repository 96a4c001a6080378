"""The Kubernetes backend: the target runs in a pod, through the cncf.kubernetes provider's
``KubernetesPodOperator``."""
